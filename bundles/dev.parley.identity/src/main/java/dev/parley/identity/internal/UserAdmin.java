package dev.parley.identity.internal;

import dev.parley.api.audit.AuditEvent;
import dev.parley.api.audit.AuditOutcome;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Permission;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import dev.parley.db.Database;
import dev.parley.db.Sql;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.Collection;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Users and tenants for admins. Users are managed within the caller's tenant ({@link Permission#USERS_ADMIN});
 * principals that may also administer tenants ({@link Permission#TENANTS_ADMIN}, the operator's) may name another.
 * Nobody grants, removes or acts on a role whose permissions they do not hold, and a tenant always keeps an enabled
 * owner. Every change is audited; changes that take rights away end the user's sessions.
 */
final class UserAdmin {
    static final int MAX_PAGE = 200;

    private final Database database;
    private final PasswordHasher hasher;
    private final Revocations revocations;
    private final Clock clock;
    private final Notices notices;

    UserAdmin(Database database, PasswordHasher hasher, Revocations revocations, Clock clock, Notices notices) {
        this.database = database;
        this.hasher = hasher;
        this.revocations = revocations;
        this.clock = clock;
        this.notices = notices;
    }

    // --- tenants ----------------------------------------------------------------------------------------------------

    IdentityStore.Tenant createTenant(Principal caller, String id, String name, String address) {
        require(caller, Permission.TENANTS_ADMIN);
        String tenant = Names.tenant(id, "id");
        String display = name == null || name.isBlank() ? tenant : name.strip();
        if (display.length() > Names.MAX_TENANT_NAME) {
            throw ParleyException.invalid("name", "'name' is at most " + Names.MAX_TENANT_NAME + " characters");
        }
        IdentityStore.Tenant t = new IdentityStore.Tenant(tenant, display, clock.instant());
        try {
            database.inTransaction("create the tenant", c -> {
                IdentityStore.insertTenant(c, t);
                return null;
            });
        } catch (ParleyException e) {
            if (uniqueViolation(e)) {
                throw new ParleyException(ErrorCode.CONFLICT, "a tenant '" + tenant + "' exists already");
            }
            throw e;
        }
        audit(caller, tenant, "tenant.create", tenant, address, Map.of());
        return t;
    }

    List<IdentityStore.Tenant> tenants(Principal caller, String after, int limit) {
        require(caller, Permission.TENANTS_ADMIN);
        int n = page(limit);
        return database.inTransaction("list the tenants", c -> IdentityStore.tenants(c, after, n));
    }

    IdentityStore.Tenant tenant(Principal caller, String id) {
        require(caller, Permission.TENANTS_ADMIN);
        return existingTenant(Names.tenant(id, "id"));
    }

    // --- users ------------------------------------------------------------------------------------------------------

    IdentityStore.User createUser(Principal caller, String tenantParam, String usernameField, String password,
            Collection<String> roleSlugs, String address) {
        String tenant = targetTenant(caller, tenantParam);
        String username = Names.username(usernameField, "username");
        Set<Role> roles = roles(roleSlugs);
        mayChange(caller, tenant, roles);
        hasher.checkNewPassword(password, "password");
        existingTenant(tenant);
        String hash = hasher.hash(password);
        Instant now = clock.instant();
        IdentityStore.User user = new IdentityStore.User(UUID.randomUUID().toString(), tenant, username, hash, roles,
                0, null, false, now, now);
        try {
            database.inTransaction("create the user", c -> {
                IdentityStore.insertUser(c, user);
                return null;
            });
        } catch (ParleyException e) {
            if (uniqueViolation(e)) {
                throw new ParleyException(ErrorCode.CONFLICT, "a user '" + username + "' exists already in tenant '"
                        + tenant + "'");
            }
            throw e;
        }
        audit(caller, tenant, "user.create", user.id(), address, Map.of("username", username, "roles",
                IdentityStore.rolesText(roles)));
        return user;
    }

    List<IdentityStore.User> users(Principal caller, String tenantParam, String after, int limit) {
        String tenant = targetTenant(caller, tenantParam);
        existingTenant(tenant);
        int n = page(limit);
        return database.inTransaction("list the users", c -> IdentityStore.users(c, tenant, after, n));
    }

    IdentityStore.User user(Principal caller, String tenantParam, String id) {
        String tenant = targetTenant(caller, tenantParam);
        return existingUser(tenant, id);
    }

    IdentityStore.User setRoles(Principal caller, String tenantParam, String id, Collection<String> roleSlugs,
            String address) {
        String tenant = targetTenant(caller, tenantParam);
        Set<Role> roles = roles(roleSlugs);
        IdentityStore.User before = existingUser(tenant, id);
        Set<Role> removed = EnumSet.noneOf(Role.class);
        removed.addAll(before.roles());
        removed.removeAll(roles);
        Set<Role> changed = EnumSet.noneOf(Role.class);
        changed.addAll(roles);
        changed.removeAll(before.roles());
        changed.addAll(removed); // added or removed
        mayChange(caller, tenant, changed);
        Instant now = clock.instant();
        List<String> ended = database.inTransaction("change the user's roles", c -> {
            IdentityStore.lockTenant(c, tenant);
            IdentityStore.User u = IdentityStore.user(c, tenant, id);
            if (u == null) {
                throw new ParleyException(ErrorCode.NOT_FOUND, "no user '" + id + "' in tenant '" + tenant + "'");
            }
            if (u.roles().contains(Role.OWNER) && !roles.contains(Role.OWNER) && !u.disabled()
                    && IdentityStore.otherEnabledOwners(c, tenant, id) == 0) {
                throw lastOwner(tenant);
            }
            IdentityStore.setRoles(c, id, roles);
            // Rights taken away end the sessions at once, instead of at the next refresh.
            return removed.isEmpty() ? List.<String>of() : IdentityStore.revokeUserSessions(c, id, now);
        });
        ended(before, ended);
        audit(caller, tenant, "user.roles", id, address, Map.of("from", IdentityStore.rolesText(before.roles()),
                "to", IdentityStore.rolesText(roles)));
        return existingUser(tenant, id);
    }

    IdentityStore.User setDisabled(Principal caller, String tenantParam, String id, boolean disabled,
            String address) {
        String tenant = targetTenant(caller, tenantParam);
        IdentityStore.User before = existingUser(tenant, id);
        mayChange(caller, tenant, before.roles());
        Instant now = clock.instant();
        List<String> ended = database.inTransaction(disabled ? "disable the user" : "enable the user", c -> {
            IdentityStore.lockTenant(c, tenant);
            IdentityStore.User u = IdentityStore.user(c, tenant, id);
            if (u == null) {
                throw new ParleyException(ErrorCode.NOT_FOUND, "no user '" + id + "' in tenant '" + tenant + "'");
            }
            if (disabled && !u.disabled() && u.roles().contains(Role.OWNER)
                    && IdentityStore.otherEnabledOwners(c, tenant, id) == 0) {
                throw lastOwner(tenant);
            }
            IdentityStore.setDisabled(c, id, disabled);
            return disabled ? IdentityStore.revokeUserSessions(c, id, now) : List.<String>of();
        });
        if (disabled) {
            revocations.blocked(id, Instant.MAX);
            ended(before, ended);
        } else {
            revocations.unblocked(id);
        }
        audit(caller, tenant, disabled ? "user.disable" : "user.enable", id, address, Map.of());
        return existingUser(tenant, id);
    }

    IdentityStore.User unlock(Principal caller, String tenantParam, String id, String address) {
        String tenant = targetTenant(caller, tenantParam);
        IdentityStore.User before = existingUser(tenant, id);
        database.inTransaction("unlock the user", c -> {
            IdentityStore.unlock(c, id);
            return null;
        });
        if (!before.disabled()) {
            revocations.unblocked(id);
        }
        audit(caller, tenant, "user.unlock", id, address, Map.of());
        return existingUser(tenant, id);
    }

    void delete(Principal caller, String tenantParam, String id, String address) {
        String tenant = targetTenant(caller, tenantParam);
        IdentityStore.User before = existingUser(tenant, id);
        mayChange(caller, tenant, before.roles());
        Instant now = clock.instant();
        List<String> ended = database.inTransaction("delete the user", c -> {
            IdentityStore.lockTenant(c, tenant);
            IdentityStore.User u = IdentityStore.user(c, tenant, id);
            if (u == null) {
                throw new ParleyException(ErrorCode.NOT_FOUND, "no user '" + id + "' in tenant '" + tenant + "'");
            }
            if (u.roles().contains(Role.OWNER) && !u.disabled()
                    && IdentityStore.otherEnabledOwners(c, tenant, id) == 0) {
                throw lastOwner(tenant);
            }
            // Sessions stay (revoked) so every node keeps refusing their access tokens until they expire.
            List<String> families = IdentityStore.revokeUserSessions(c, id, now);
            IdentityStore.deleteUser(c, id);
            return families;
        });
        revocations.blocked(id, Instant.MAX);
        ended(before, ended);
        audit(caller, tenant, "user.delete", id, address, Map.of("username", before.username()));
    }

    // --- rules ------------------------------------------------------------------------------------------------------

    /** The tenant the caller acts on: its own, or (with TENANTS_ADMIN) the one it names. */
    String targetTenant(Principal caller, String requested) {
        require(caller, Permission.USERS_ADMIN);
        if (requested == null || requested.isEmpty() || requested.equals(caller.tenantId())) {
            return caller.tenantId();
        }
        String tenant = Names.tenant(requested, "tenant");
        if (!caller.can(Permission.TENANTS_ADMIN)) {
            throw new ParleyException(ErrorCode.FORBIDDEN, "managing the users of another tenant needs the "
                    + Permission.TENANTS_ADMIN.slug() + " permission");
        }
        return tenant;
    }

    /**
     * Refuses when {@code roles} carry a permission the caller does not hold. Platform permissions count only when
     * the target is the operator tenant (elsewhere no role carries them in effect).
     */
    static void mayChange(Principal caller, String tenant, Set<Role> roles) {
        boolean operator = Principal.OPERATOR_TENANT.equals(tenant);
        for (Role role : roles) {
            for (Permission p : role.permissions()) {
                if ((operator || !p.platform()) && !caller.can(p)) {
                    throw new ParleyException(ErrorCode.FORBIDDEN, "the role '" + role.slug() + "' carries the "
                            + "permission '" + p.slug() + "', which you do not hold: you cannot grant, take away or "
                            + "act on it");
                }
            }
        }
    }

    static void require(Principal caller, Permission permission) {
        if (caller == null) {
            throw new ParleyException(ErrorCode.UNAUTHORIZED, "sign in first");
        }
        if (!caller.can(permission)) {
            throw new ParleyException(ErrorCode.FORBIDDEN, "this needs the " + permission.slug() + " permission");
        }
    }

    static Set<Role> roles(Collection<String> slugs) {
        if (slugs == null) {
            throw ParleyException.invalid("roles", "'roles' is required: a list of role names, e.g. [\"member\"]");
        }
        Set<Role> roles = EnumSet.noneOf(Role.class);
        for (String slug : slugs) {
            Role r = slug == null ? null : Role.fromSlug(slug);
            if (r == null) {
                throw ParleyException.invalid("roles", "unknown role; roles are owner, admin, plugin-admin, "
                        + "developer, member and viewer");
            }
            roles.add(r);
        }
        return roles;
    }

    private static int page(int limit) {
        if (limit < 1 || limit > MAX_PAGE) {
            throw ParleyException.invalid("limit", "'limit' must be between 1 and " + MAX_PAGE);
        }
        return limit;
    }

    private IdentityStore.Tenant existingTenant(String tenant) {
        IdentityStore.Tenant t = database.inTransaction("read the tenant", c -> IdentityStore.tenant(c, tenant));
        if (t == null) {
            throw new ParleyException(ErrorCode.NOT_FOUND, "no tenant '" + tenant + "'");
        }
        return t;
    }

    private IdentityStore.User existingUser(String tenant, String id) {
        IdentityStore.User u = id == null || id.length() > 36 ? null
                : database.inTransaction("read the user", c -> IdentityStore.user(c, tenant, id));
        if (u == null) {
            throw new ParleyException(ErrorCode.NOT_FOUND, "no user '" + (id == null ? "" : id.length() > 36
                    ? id.substring(0, 36) + "…" : id) + "' in tenant '" + tenant + "'");
        }
        return u;
    }

    private void ended(IdentityStore.User user, List<String> families) {
        families.forEach(revocations::revoked);
        notices.revoked(user.id(), user.tenantId(), "");
    }

    private static ParleyException lastOwner(String tenant) {
        return new ParleyException(ErrorCode.CONFLICT, "tenant '" + tenant + "' would have no enabled owner left: "
                + "make another user owner first");
    }

    private static boolean uniqueViolation(ParleyException e) {
        return e.code() == ErrorCode.STORE_FAILURE && e.getCause() instanceof SQLException s
                && Sql.isUniqueViolation(s);
    }

    private void audit(Principal caller, String tenant, String action, String target, String address,
            Map<String, String> detail) {
        notices.audit(new AuditEvent(clock.instant(), caller.subject(), tenant, action, target,
                AuditOutcome.SUCCESS, address, detail));
    }
}
