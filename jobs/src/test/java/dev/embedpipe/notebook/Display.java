package dev.embedpipe.notebook;

import javax.imageio.ImageIO;
import java.awt.image.RenderedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Base64;

/**
 * Shows a picture from a notebook cell. The cell's code runs in a separate JVM (JShell's execution agent), so
 * the picture travels on standard output as one marker line that {@link NotebookRunner} turns into a
 * {@code display_data} output with an {@code image/png}; everything else the cell prints stays text.
 */
public final class Display {
    /** Starts a line that carries a picture: the marker, the MIME type, a space, then the base64 data. */
    public static final String MARKER = "\u001eembedpipe-display ";

    private Display() {}

    /** Encodes the image as PNG and hands it to the notebook as the next output of the running cell. */
    public static void png(RenderedImage image) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(image, "png", bytes)) {
                throw new IllegalArgumentException("no PNG writer for this image type");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        System.out.print("\n" + MARKER + "image/png " + Base64.getEncoder().encodeToString(bytes.toByteArray()) + "\n");
        System.out.flush();
    }
}
