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
    private final long maxBodyBytes;

    BodyLimitFilter(long maxBodyBytes) {
        this.maxBodyBytes = maxBodyBytes;
    }

    @Override
    public void filter(ContainerRequestContext request) {
        if (request.getLength() > maxBodyBytes) {
            throw tooLarge();
        }
        if (request.hasEntity()) {
            request.setEntityStream(new LimitedStream(request.getEntityStream()));
        }
    }

    private ParleyException tooLarge() {
        return new ParleyException(ErrorCode.TOO_LARGE, "The request body is larger than " + maxBodyBytes + " bytes.");
    }

    private final class LimitedStream extends FilterInputStream {
        private long count;

        LimitedStream(InputStream in) {
            super(in);
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
            if (count > maxBodyBytes) {
                throw tooLarge();
            }
        }
    }
}
