package dev.parley.web.rest.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import jakarta.ws.rs.container.PreMatching;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Rejects bodies over {@code maxBodyBytes}: at once when Content-Length says so, otherwise as soon as reading
 * passes the limit (chunked uploads), so no reader ever buffers more than the limit.
 */
@PreMatching
final class BodyLimitFilter implements ContainerRequestFilter {
    /** Plugin uploads to the registry are the one kind of request allowed to be big. */
    static final String UPLOAD_PATH = "api/v1/registry/plugins";

    private final long maxBodyBytes;
    private final long maxUploadBytes;

    BodyLimitFilter(long maxBodyBytes) {
        this(maxBodyBytes, maxBodyBytes);
    }

    BodyLimitFilter(long maxBodyBytes, long maxUploadBytes) {
        this.maxBodyBytes = maxBodyBytes;
        this.maxUploadBytes = Math.max(maxBodyBytes, maxUploadBytes);
    }

    @Override
    public void filter(ContainerRequestContext request) {
        long limit = isUpload(request) ? maxUploadBytes : maxBodyBytes;
        if (request.getLength() > limit) {
            throw tooLarge(limit);
        }
        if (request.hasEntity()) {
            request.setEntityStream(new LimitedStream(request.getEntityStream(), limit));
        }
    }

    private static boolean isUpload(ContainerRequestContext request) {
        return isUpload(request.getMethod(), request.getUriInfo().getPath());
    }

    /** Whether {@code method} on {@code path} (with or without its leading and trailing slash) is a plugin upload. */
    static boolean isUpload(String method, String path) {
        path = path.startsWith("/") ? path.substring(1) : path;
        path = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
        return "POST".equals(method) && UPLOAD_PATH.equals(path);
    }

    private static ParleyException tooLarge(long limit) {
        return new ParleyException(ErrorCode.TOO_LARGE, "The request body is larger than " + limit + " bytes.");
    }

    private final class LimitedStream extends FilterInputStream {
        private final long limit;
        private long count;

        LimitedStream(InputStream in, long limit) {
            super(in);
            this.limit = limit;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                add(1);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                add(n);
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long skipped = super.skip(n);
            add(skipped);
            return skipped;
        }

        @Override
        public boolean markSupported() {
            return false;
        }

        private void add(long n) {
            count += n;
            if (count > limit) {
                throw tooLarge(limit);
            }
        }
    }
}
