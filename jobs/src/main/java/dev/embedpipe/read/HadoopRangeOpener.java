package dev.embedpipe.read;

import dev.embedpipe.read.RangeOpener;
import dev.embedpipe.util.SerializableConf;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.InputStream;

/** Opens input files through Hadoop's FileSystem (local, HDFS, s3a), with the driver's Hadoop settings. */
public final class HadoopRangeOpener implements RangeOpener {
    private static final long serialVersionUID = 1L;
    private final SerializableConf conf;

    public HadoopRangeOpener(SerializableConf conf) {
        this.conf = conf;
    }

    @Override
    public InputStream open(String path, long position) throws IOException {
        Path p = new Path(path);
        FileSystem fs = p.getFileSystem(conf.get());
        FSDataInputStream in = fs.open(p, 1 << 16);
        if (position > 0) {
            in.seek(position);
        }
        return in;
    }
}
