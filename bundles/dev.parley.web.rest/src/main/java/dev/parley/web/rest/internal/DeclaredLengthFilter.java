package dev.parley.web.rest.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardFilterAsyncSupported;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardFilterName;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardFilterPattern;

/**
 * Refuses a body whose Content-Length is over the limit before anything asks for it, for the REST application's
 * routes. The REST application opens every request's input stream up front, and the servlet container answers a
 * client's {@code Expect: 100-continue} at that moment: a refusal there (the {@link BodyLimitFilter}) came after
 * the client had been told to send, so a big upload was cut off mid-body and the client never read the 413. Here
 * the 413 goes out while the client is still waiting, and it sends nothing. Bodies without a Content-Length (chunked)
 * are still counted as they are read, by {@link BodyLimitFilter}.
 */
@Component(service = jakarta.servlet.Filter.class, configurationPid = RestConfig.PID)
@HttpWhiteboardFilterPattern({DeclaredLengthFilter.REST_API, DeclaredLengthFilter.EMBEDDINGS})
@HttpWhiteboardFilterName("parley-declared-length")
@HttpWhiteboardFilterAsyncSupported
public class DeclaredLengthFilter implements Filter {
    /** The REST application's routes that take a body; the chat servlets check their own bodies' length. */
    static final String REST_API = "/api/*";
    static final String EMBEDDINGS = "/v1/embeddings";

    private final ObjectMapper mapper = JsonMapping.newMapper();
    private final long maxBodyBytes;
    private final long maxUploadBytes;

    @Activate
    public DeclaredLengthFilter(RestConfig config) {
        this(RestLimits.from(config).maxBodyBytes(), config.maxUploadBytes());
    }

    DeclaredLengthFilter(long maxBodyBytes, long maxUploadBytes) {
        this.maxBodyBytes = maxBodyBytes;
        this.maxUploadBytes = Math.max(maxBodyBytes, maxUploadBytes);
    }

    @Override
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
            throws IOException, ServletException {
        if (request instanceof HttpServletRequest req && response instanceof HttpServletResponse resp) {
            long declared = req.getContentLengthLong();
            if (declared > 0) {
                long limit = BodyLimitFilter.isUpload(req.getMethod(), req.getRequestURI()) ? maxUploadBytes
                        : maxBodyBytes;
                if (declared > limit) {
                    AsyncRequests.Refused r = AsyncRequests.tooLarge(limit);
                    AsyncRequests.refuse(resp, r.failure, ErrorResponses.PROBLEM_JSON,
                            mapper.writeValueAsBytes(r.failure.problem()), r.closeConnection);
                    return;
                }
            }
        }
        chain.doFilter(request, response);
    }
}
