package dev.parley.identity.internal;

import dev.parley.api.identity.TenantDirectory;
import dev.parley.db.Database;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * The tenants of the built-in identity ({@code identity_tenants}), for admin APIs that name another tenant. Depends
 * on {@link BuiltInIdentity} so that the table exists (it migrates it) before the first question.
 */
@Component(service = TenantDirectory.class)
public final class IdentityTenantDirectory implements TenantDirectory {
    private final Database database;

    @Activate
    public IdentityTenantDirectory(@Reference BuiltInIdentity identity, @Reference Database database) {
        this.database = database;
    }

    @Override
    public boolean exists(String tenantId) {
        if (tenantId == null || tenantId.isBlank()) {
            return false;
        }
        return database.inTransaction("look the tenant up", c -> IdentityStore.tenant(c, tenantId) != null);
    }
}
