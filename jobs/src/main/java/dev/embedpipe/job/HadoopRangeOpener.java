package dev.embedpipe.job;

import dev.embedpipe.read.RangeOpener;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;

/** Opens input files through Hadoop's FileSystem (local, HDFS, s3a), carrying the driver's Hadoop settings. */
final class HadoopRangeOpener implements RangeOpener {
    private static final long serialVersionUID = 1L;
    private transient Configuration conf;

    HadoopRangeOpener(Configuration conf) {
        this.conf = conf;
    }

    @Override
    public InputStream open(String path, long position) throws IOException {
        Path p = new Path(path);
        FileSystem fs = p.getFileSystem(conf);
        FSDataInputStream in = fs.open(p, 1 << 16);
        if (position > 0) {
            in.seek(position);
        }
        return in;
    }

    private void writeObject(ObjectOutputStream out) throws IOException {
        out.defaultWriteObject();
        conf.write(out);
    }

    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
        in.defaultReadObject();
        conf = new Configuration(false);
        conf.readFields(in);
    }
}
