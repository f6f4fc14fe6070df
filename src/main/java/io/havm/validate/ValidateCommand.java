package io.havm.validate;

import io.havm.model.InvalidInputException;
import io.havm.util.Args;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/** The command line of {@code havm validate}: options, output files, exit code. */
public final class ValidateCommand {
    static final String USAGE = "havm validate --config C [--json F|-] [--html F]";

    private ValidateCommand() {}

    /** @return 0 nothing failed, 1 a check failed; bad input throws {@link InvalidInputException} (exit 2) */
    public static int run(List<String> args, PrintStream out, PrintStream err) {
        Args a = Args.parse("havm validate", args, Set.of("--config", "--json", "--html"), Set.of(), 0, USAGE);
        Path config = Path.of(a.require("havm validate", "--config", USAGE));
        // --json -: the report on stdout (instead of the text)
        boolean jsonOut = "-".equals(a.get("--json"));
        Path json = a.get("--json") == null || jsonOut ? null : Path.of(a.get("--json"));
        Path html = a.get("--html") == null ? null : Path.of(a.get("--html"));
        writable("--json", json);
        writable("--html", html);
        Validate.Report r;
        try {
            r = Validate.run(config, new LibvirtFacts(Validate.PER_HOST));
        } catch (InvalidInputException e) {
            throw e;
        } catch (RuntimeException e) {
            // No stack trace: an unforeseen failure is one line, and a failed validation.
            err.println("havm validate: could not finish: " + e);
            return 1;
        }
        if (jsonOut) {
            out.println(ReportFormat.json(r).strip());
        } else {
            out.print(ReportFormat.text(r));
        }
        if (json != null) {
            Validate.write("--json", json, ReportFormat.json(r));
        }
        if (html != null) {
            Validate.write("--html", html, ReportFormat.html(r));
        }
        return r.exitCode();
    }

    /** An output file whose directory is missing or that is a directory is bad input, said before any work. */
    private static void writable(String option, Path file) {
        if (file == null) {
            return;
        }
        Path parent = file.toAbsolutePath().getParent();
        if (Files.isDirectory(file)) {
            throw new InvalidInputException("havm validate " + option, file + " is a directory (give a file name)");
        }
        if (parent != null && !Files.isDirectory(parent)) {
            throw new InvalidInputException("havm validate " + option, "the directory " + parent + " does not exist");
        }
    }
}
