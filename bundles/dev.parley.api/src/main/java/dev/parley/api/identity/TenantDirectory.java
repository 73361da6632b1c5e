package dev.parley.api.identity;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The tenants Parley knows (created through the tenants admin API, the operator's {@code default} among them), for
 * admin APIs that name a tenant other than the caller's and must refuse one that does not exist.
 *
 * @since 1.2 (package {@code dev.parley.api.identity} 1.2.0)
 */
@ProviderType
public interface TenantDirectory {
    /** Whether a tenant with this id exists. */
    boolean exists(String tenantId);
}
