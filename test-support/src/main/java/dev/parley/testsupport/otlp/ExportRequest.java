package dev.parley.testsupport.otlp;

/**
 * One HTTP request {@link OtlpReceiver} answered, whatever its path or outcome.
 *
 * @param contentType     the request's media type without parameters, lower case, or the empty string
 * @param contentEncoding the request's {@code Content-Encoding}, lower case, or the empty string
 * @param status          the HTTP status the receiver answered
 * @param spans           how many spans the request carried and the receiver kept (0 unless it answered 200)
 * @param error           why the receiver refused the request, or the empty string
 */
public record ExportRequest(String method, String path, String contentType, String contentEncoding, int status,
                            int spans, String error) {

    public boolean accepted() {
        return status == 200;
    }
}
