package dev.embedpipe.cli;

import dev.embedpipe.config.ConfigException;
import dev.embedpipe.use.ArrowExport;
import dev.embedpipe.use.EmbeddingTable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

@Command(name = "export",
        description = {"Writes the table's embeddings as Arrow IPC files (one .arrow per Parquet file, embedding as "
                + "FixedSizeList<float32>[dims]) that numpy, pandas, polars and vector databases memory-map without "
                + "copying.", ""})
final class ExportCommand extends TableCommand implements Callable<Integer> {
    enum Format { arrow }

    @Option(names = "--to", required = true, paramLabel = "DIR", description = "Folder for the exported files")
    String to;

    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "arrow", description = "arrow (default: ${DEFAULT-VALUE})")
    Format format;

    @Option(names = "--batch-rows", paramLabel = "N", defaultValue = "" + ArrowExport.BATCH_ROWS,
            description = "Rows per Arrow record batch (default: ${DEFAULT-VALUE})")
    int batchRows;

    @Override
    public Integer call() {
        if (batchRows < 1) {
            throw new ConfigException("--batch-rows: at least 1");
        }
        EmbeddingTable t = openTable();
        long started = System.nanoTime();
        ArrowExport.Result r = ArrowExport.run(t, to, batchRows);
        System.out.printf("embedpipe: exported %,d rows of %s to %s: %d Arrow IPC file%s, %,d bytes, in %.1f s%n",
                r.rows(), t.output(), to, r.files(), r.files() == 1 ? "" : "s", r.bytes(), (System.nanoTime() - started) / 1e9);
        return EmbedpipeMain.OK;
    }
}
