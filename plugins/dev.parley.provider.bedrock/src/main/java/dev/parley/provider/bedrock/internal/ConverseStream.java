package dev.parley.provider.bedrock.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.ToolCallDelta;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import software.amazon.awssdk.services.bedrockruntime.model.ContentBlockDeltaEvent;
import software.amazon.awssdk.services.bedrockruntime.model.ContentBlockStartEvent;
import software.amazon.awssdk.services.bedrockruntime.model.ConverseResponse;
import software.amazon.awssdk.services.bedrockruntime.model.ConverseStreamMetadataEvent;
import software.amazon.awssdk.services.bedrockruntime.model.ConverseStreamResponseHandler;
import software.amazon.awssdk.services.bedrockruntime.model.MessageStopEvent;

/**
 * One running answer (streamed or whole): delivers events to the handler in order, ends it exactly once (complete,
 * error, timeout or cancel) and stops the upstream call when it ends early.
 */
final class ConverseStream implements StreamHandle {

    private final ChatStreamHandler handler;
    private final String model;
    private final ConverseAnswer answer;
    private final Consumer<ConverseStream> onEnd;
    private boolean ended;
    /** The answer ended on Parley's side (cancel, timeout, a refused event) while the upstream call still ran. */
    private boolean endedEarly;
    /** The upstream finished the answer before the call was handed over: {@link #upstream} ends the run. */
    private boolean endPending;
    private CompletableFuture<?> upstream;
    private Future<?> timer;

    ConverseStream(ChatStreamHandler handler, String model, int maxChars, Consumer<ConverseStream> onEnd) {
        this.handler = handler;
        this.model = model;
        this.answer = new ConverseAnswer(model, maxChars);
        this.onEnd = onEnd;
    }

    /** Hands over the running SDK call and the answer's timeout, which may already have ended. */
    void upstream(CompletableFuture<?> call, Future<?> timeout) {
        boolean over;
        boolean early;
        boolean pending;
        synchronized (this) {
            this.upstream = call;
            this.timer = timeout;
            over = ended;
            early = endedEarly;
            pending = endPending;
            endPending = false;
        }
        if (over) {
            timeout.cancel(false);
        }
        if (early && !call.isDone()) {
            call.cancel(true);
        }
        if (pending) {
            call.whenComplete((r, e) -> onEnd.accept(this));
        }
    }

    /** The SDK's handler for ConverseStream: its events, and the end of the call. */
    ConverseStreamResponseHandler responseHandler() {
        return ConverseStreamResponseHandler.builder()
                .subscriber(ConverseStreamResponseHandler.Visitor.builder()
                        .onContentBlockStart(this::blockStart)
                        .onContentBlockDelta(this::blockDelta)
                        .onMessageStop(this::messageStop)
                        .onMetadata(this::metadata)
                        .build())
                .onError(this::fail)
                .onComplete(this::streamEnded)
                .build();
    }

    private synchronized void blockStart(ContentBlockStartEvent e) {
        if (ended) {
            return;
        }
        guard(() -> {
            if (e.start() != null && e.start().toolUse() != null) {
                handler.onToolCallDelta(answer.toolStart(index(e.contentBlockIndex()),
                        e.start().toolUse().toolUseId(), e.start().toolUse().name()));
            }
        });
    }

    private synchronized void blockDelta(ContentBlockDeltaEvent e) {
        if (ended || e.delta() == null) {
            return;
        }
        guard(() -> {
            if (e.delta().text() != null) {
                String t = e.delta().text();
                answer.text(t);
                if (!t.isEmpty()) {
                    handler.onToken(t);
                }
            } else if (e.delta().toolUse() != null && e.delta().toolUse().input() != null) {
                ToolCallDelta piece = answer.toolInput(index(e.contentBlockIndex()), e.delta().toolUse().input());
                if (!piece.argumentsDelta().isEmpty()) {
                    handler.onToolCallDelta(piece);
                }
            }
        });
    }

    private synchronized void messageStop(MessageStopEvent e) {
        if (!ended) {
            answer.stop(e.stopReasonAsString());
            answer.closingToolCallDeltas().forEach(handler::onToolCallDelta);
        }
    }

    private synchronized void metadata(ConverseStreamMetadataEvent e) {
        if (!ended) {
            answer.usage(e.usage());
        }
    }

    private static int index(Integer i) {
        return i == null ? 0 : i;
    }

    /** Runs a step; a ParleyException from it (answer too large, bad event) ends the stream with that error. */
    private void guard(Runnable step) {
        try {
            step.run();
        } catch (ParleyException e) {
            endWithError(e);
        }
    }

    /** The event stream ended cleanly: it must have said why the message stopped, or it was cut. */
    private void streamEnded() {
        ChatResponse response;
        ParleyException error = null;
        synchronized (this) {
            if (ended) {
                return;
            }
            if (!answer.stopped()) {
                error = new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                        "the answer stream from Bedrock ended before the message was complete");
                response = null;
            } else {
                try {
                    response = answer.finish();
                } catch (ParleyException e) {
                    error = e;
                    response = null;
                }
            }
            if (error == null) {
                ended = true;
                handler.onComplete(response);
            }
        }
        if (error != null) {
            endWithError(error, false);
        } else {
            done(false);
        }
    }

    /** A whole (non-streamed) Converse response. */
    void whole(ConverseResponse r) {
        ChatResponse response;
        synchronized (this) {
            if (ended) {
                return;
            }
            try {
                if (r.output() != null && r.output().message() != null) {
                    var blocks = r.output().message().content();
                    for (int i = 0; i < blocks.size(); i++) {
                        var b = blocks.get(i);
                        if (b.text() != null) {
                            answer.text(b.text());
                        } else if (b.toolUse() != null) {
                            answer.toolStart(i, b.toolUse().toolUseId(), b.toolUse().name());
                            answer.toolInput(i, JsonDocuments.write(b.toolUse().input()));
                        }
                    }
                }
                answer.stop(r.stopReasonAsString());
                answer.usage(r.usage());
                response = answer.finish();
            } catch (ParleyException e) {
                response = null;
                ended = true;
                handler.onError(e);
            }
            if (response != null) {
                ended = true;
                handler.onComplete(response);
            }
        }
        done(false);
    }

    /** The SDK call failed: there is nothing left to stop. */
    void fail(Throwable error) {
        endWithError(BedrockErrors.map(error, model), false);
    }

    void timedOut() {
        endWithError(new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "Bedrock did not finish the answer in time"));
    }

    /** Ends the answer because the provider stops. */
    void abandon(ParleyException error) {
        endWithError(error);
    }

    @Override
    public void cancel() {
        endWithError(new ParleyException(ErrorCode.CANCELLED, "the answer was cancelled"));
    }

    /** Ends the answer on Parley's side: the upstream call may still run and is stopped. */
    private void endWithError(ParleyException error) {
        endWithError(error, true);
    }

    private void endWithError(ParleyException error, boolean stopUpstream) {
        synchronized (this) {
            if (ended) {
                return;
            }
            ended = true;
            endedEarly = stopUpstream;
            handler.onError(error);
        }
        done(stopUpstream);
    }

    /**
     * Ends the run. An answer ended early stops its SDK call and ends at once. An answer the upstream finished
     * itself (complete, refused by its stop reason, or failed) is signalled while the SDK still holds the call:
     * cancelling it then would close its connection after the SDK handed it back to the pool, under the next
     * request (seen as that request failing with a CancellationException). So the call is left alone, and the run
     * counts as running until the SDK has let go of it, so that a provider that stops closes its client only after.
     */
    private void done(boolean stopUpstream) {
        CompletableFuture<?> call;
        Future<?> t;
        synchronized (this) {
            call = upstream;
            t = timer;
            endPending = call == null && !stopUpstream;
        }
        if (t != null) {
            t.cancel(false);
        }
        if (stopUpstream) {
            if (call != null && !call.isDone()) {
                call.cancel(true);
            }
            onEnd.accept(this);
        } else if (call != null) {
            call.whenComplete((r, e) -> onEnd.accept(this));
        }
    }
}
