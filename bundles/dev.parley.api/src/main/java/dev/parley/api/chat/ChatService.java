package dev.parley.api.chat;

import dev.parley.api.identity.Principal;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Chat orchestration: the one way in is as a verified caller, so that nothing a front end does can forget whose
 * tenant it acts in.
 */
@ProviderType
public interface ChatService {
    /**
     * Chat as {@code caller}: scoped to its tenant, checked against its permissions and its credential's model
     * scopes, and its usage recorded under its tenant and subject.
     */
    Chat as(Principal caller);
}
