package dev.embedpipe.testing;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * {@code faultfs:///path}: the local disk, except that writes to files whose path matches {@code fs.faultfs.fail.path}
 * (a regex) fail with {@code IOException(fs.faultfs.fail.message)} once {@code fs.faultfs.fail.after.bytes} bytes
 * have gone to such files in this JVM: a disk filling up, which permissions cannot fake when tests run as root.
 * Enable with {@code spark.hadoop.fs.faultfs.impl=dev.embedpipe.testing.FaultFileSystem}.
 */
public final class FaultFileSystem extends RawLocalFileSystem {
    public static final String SCHEME = "faultfs";
    private static final AtomicLong WRITTEN = new AtomicLong();
    private Pattern failPath;
    private long failAfterBytes;
    private String message;

    @Override
    public void initialize(URI uri, Configuration conf) throws IOException {
        super.initialize(uri, conf);
        String regex = conf.get("fs.faultfs.fail.path", "");
        failPath = regex.isEmpty() ? null : Pattern.compile(regex);
        failAfterBytes = conf.getLong("fs.faultfs.fail.after.bytes", 0);
        message = conf.get("fs.faultfs.fail.message", "No space left on device");
    }

    @Override
    public URI getUri() {
        return URI.create(SCHEME + ":///");
    }

    @Override
    public String getScheme() {
        return SCHEME;
    }

    // The local file statuses load permissions from a java.io.File made of the path's URI, which must be "file:":
    // hand out plain statuses instead.
    @Override
    public FileStatus getFileStatus(Path f) throws IOException {
        return plain(super.getFileStatus(f));
    }

    @Override
    public FileStatus getFileLinkStatus(Path f) throws IOException {
        return plain(super.getFileLinkStatus(f));
    }

    @Override
    public FileStatus[] listStatus(Path f) throws IOException {
        FileStatus[] statuses = super.listStatus(f);
        for (int i = 0; i < statuses.length; i++) {
            statuses[i] = plain(statuses[i]);
        }
        return statuses;
    }

    private static FileStatus plain(FileStatus s) {
        String user = System.getProperty("user.name");
        return new FileStatus(s.getLen(), s.isDirectory(), s.getReplication(), s.getBlockSize(), s.getModificationTime(),
                s.getAccessTime(), s.isDirectory() ? FsPermission.getDirDefault() : FsPermission.getFileDefault(), user, user, s.getPath());
    }

    @Override
    protected OutputStream createOutputStream(Path f, boolean append) throws IOException {
        return faulty(f, super.createOutputStream(f, append));
    }

    @Override
    protected OutputStream createOutputStreamWithMode(Path f, boolean append, FsPermission permission) throws IOException {
        return faulty(f, super.createOutputStreamWithMode(f, append, permission));
    }

    private OutputStream faulty(Path f, OutputStream out) throws IOException {
        if (failPath == null || !failPath.matcher(f.toUri().getPath()).matches()) {
            return out;
        }
        return new FilterOutputStream(out) {
            @Override
            public void write(int b) throws IOException {
                count(1);
                out.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                count(len);
                out.write(b, off, len);
            }

            private void count(int n) throws IOException {
                if (WRITTEN.addAndGet(n) > failAfterBytes) { // opening a file works on a full disk, writing fails
                    throw new IOException(message);
                }
            }
        };
    }
}
