package dev.embedpipe.cli;

import dev.embedpipe.report.RunReport;
import dev.embedpipe.util.RedactingConverter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code embedpipe COMMAND [OPTIONS]}: the one main class for jobs/bin/embedpipe and spark-submit.
 * Exit codes: 0 success, 1 the run failed (or another run holds the output), 2 usage or configuration error (or a
 * refused output), 3 completed over a quality threshold; each but 0 with one line on stderr ({@link ErrorReport}).
 */
@Command(name = "embedpipe", mixinStandardHelpOptions = true, versionProvider = EmbedpipeMain.Version.class,
        description = "Turns JSONL documents into Parquet embedding tables on Apache Spark.",
        subcommands = {EmbedCommand.class, EstimateCommand.class, RedriveCommand.class, SearchCommand.class,
                ExportCommand.class, DedupeCommand.class, BatchesCommand.class, CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:the run failed, or another run holds the output",
                "2:usage or configuration error, or an output the job refuses", "3:the run completed over a quality threshold"})
public final class EmbedpipeMain implements Runnable {
    public static final int OK = 0;
    public static final int FAILED = 1;
    public static final int USAGE = 2;
    public static final int OVER_THRESHOLD = 3;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
            description = "On a failure, print the stack trace instead of writing it to a log file")
    void verbose(boolean on) {
        ErrorReport.verbose(on);
    }

    public static void main(String[] args) {
        ErrorReport.logFile(); // names the log file before log4j reads conf/log4j2.properties
        RedactingConverter.ensureActive(); // under spark-submit, log4j started before our jar was on the classpath
        System.exit(execute(args));
    }

    /**
     * Runs a command and returns its exit code (tests call this instead of main). Whatever a command throws is mapped
     * to its exit code and one line by {@link ErrorReport}, for every command alike.
     */
    public static int execute(String... args) {
        ErrorReport.verbose(false);
        ErrorReport.OutputContext.set(null);
        CommandLine cli = new CommandLine(new EmbedpipeMain());
        cli.setParameterExceptionHandler((e, a) -> {
            ErrorReport.oneLine(e.getMessage() + " (see --help)");
            return USAGE;
        });
        cli.setExecutionExceptionHandler((e, commandLine, parsed) -> ErrorReport.report(e));
        return cli.execute(args);
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required: embed, estimate, redrive, search, export, dedupe or batches");
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"embedpipe " + RunReport.toolVersion()};
        }
    }
}
