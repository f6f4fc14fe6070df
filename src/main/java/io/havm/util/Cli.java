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
        }
    }
}
