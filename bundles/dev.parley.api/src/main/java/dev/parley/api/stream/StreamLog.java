package dev.parley.api.stream;

import java.util.List;
import java.util.concurrent.CompletionStage;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The short-lived log of streamed answers (one stream per answer, named by the answer's id). The in-process log
 * serves only its own node; a shared log (e.g. Redis Streams) lets any node serve a stream another node produces,
 * and tells when that node is gone.
 */
@ProviderType
public interface StreamLog {
    /** Starts the log of stream {@code streamId}, written by this node. */
    StreamWriter open(String streamId);

    /**
     * Follows stream {@code streamId} from the entry after {@code after} (0: from the first): what is in the log,
     * then what is appended, until its end. The returned handle stops following; the follower then gets nothing
     * more.
     */
    AutoCloseable follow(String streamId, long after, StreamFollower follower);

    /** Every entry of stream {@code streamId} written so far (empty when there is no such stream). */
    CompletionStage<List<StreamEntry>> entries(String streamId);

    /** Whether other nodes read this log: then a stream missing from it was never written or has expired. */
    boolean shared();
}
