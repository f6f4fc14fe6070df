package io.havm.util;

import io.havm.model.InvalidInputException;
import io.havm.port.HypervisorException;
import java.io.PrintStream;

/** The exit codes every havm command keeps: 0 done, 1 the operation failed, 2 bad input (nothing changed). */
public final class Cli {
    private Cli() {}

    /** A command's body: its exit code, or one of the exceptions {@link #exitCode} maps. */
    public interface Body {
        int run() throws InterruptedException;
    }

    /** Runs {@code body}; bad input and expected failures become a one-line message on {@code err}, never a trace. */
    public static int exitCode(PrintStream err, Body body) {
        return exitCode(err, "havm", body);
    }

    /**
     * As {@link #exitCode(PrintStream, Body)}; {@code command} names the command in the one line
     * said for an unexpected failure (a file that cannot be written, or a bug: never a stack
     * trace, unless HAVM_DEBUG is set).
     */
    public static int exitCode(PrintStream err, String command, Body body) {
        try {
            return body.run();
        } catch (InvalidInputException e) {
            err.println("havm: " + e.getMessage());
            return 2;
        } catch (HypervisorException e) {
            err.println("havm: " + e.kind().name().toLowerCase() + ": " + e.getMessage());
            return 1;
        } catch (Exec.ExecFailedException e) {
            err.println("havm: " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        } catch (java.io.UncheckedIOException e) {
            // a file or directory that could not be read or written: the operation failed
            err.println(command + ": " + e.getMessage());
            return 1;
        } catch (RuntimeException | StackOverflowError e) {
            err.println(command + ": internal error: " + e + " (a bug in havm; HAVM_DEBUG=1 prints the stack trace)");
            if (System.getenv("HAVM_DEBUG") != null) {
                e.printStackTrace(err);
            }
            return 1;
        }
    }
}
