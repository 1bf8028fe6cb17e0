namespace DeepPerception.Abstractions;

/// <summary>
/// Builds and checks grain keys. Every tenant-owned grain is keyed "{tenantId}/{id}"; identifiers are 1–63 characters
/// of lowercase letters, digits and '-', starting with a letter or digit.
/// </summary>
public static class PlatformKeys
{
    /// <summary>The key of cluster-wide singleton grains (scheduler, GPU silo registry).</summary>
    public const string Singleton = "default";

    /// <summary>Throws <see cref="InvalidRequestException"/> when <paramref name="id"/> is not a valid identifier.</summary>
    public static string ValidateId(string? id, string what)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 63 || !char.IsAsciiLetterOrDigit(id[0])
            || !id.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
        {
            throw new InvalidRequestException(
                $"The {what} '{id}' is not valid: use 1–63 lowercase letters, digits and '-', starting with a letter or digit.");
        }

        return id;
    }

    /// <summary>Returns the tenant-scoped key "{tenantId}/{id}" after validating both parts.</summary>
    public static string Scoped(string tenantId, string id, string what) =>
        $"{ValidateId(tenantId, "tenant id")}/{ValidateId(id, what)}";

    /// <summary>Splits a tenant-scoped key into its tenant and local id.</summary>
    public static (string TenantId, string Id) Split(string key)
    {
        var slash = key.IndexOf('/');
        if (slash <= 0 || slash == key.Length - 1 || key.IndexOf('/', slash + 1) >= 0)
        {
            throw new InvalidRequestException($"The key '{key}' is not a tenant-scoped key of the form 'tenant/id'.");
        }

        var tenantId = ValidateId(key[..slash], "tenant id");
        var id = ValidateId(key[(slash + 1)..], "id");
        return (tenantId, id);
    }

    /// <summary>Throws <see cref="AccessDeniedException"/> unless the artifact key lies under the tenant's own prefix.</summary>
    public static void RequireTenantArtifact(string tenantId, string? artifactKey, string what)
    {
        if (string.IsNullOrEmpty(artifactKey) || !artifactKey.StartsWith(tenantId + "/", StringComparison.Ordinal))
        {
            throw new AccessDeniedException($"The {what} '{artifactKey}' is not under the tenant's artifact prefix '{tenantId}/'.");
        }
    }

    /// <summary>
    /// The platform id for an entity name: lowercase letters and digits, other runs as '-', at most 63 characters; null
    /// when the name has no letter or digit.
    /// </summary>
    public static string? EntityId(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var sb = new System.Text.StringBuilder(name.Length);
        foreach (var ch in name.ToLowerInvariant())
        {
            if (ch is >= 'a' and <= 'z' or >= '0' and <= '9')
            {
                sb.Append(ch);
            }
            else if (sb.Length > 0 && sb[^1] != '-')
            {
                sb.Append('-');
            }
        }

        var id = sb.ToString().TrimEnd('-');
        id = id.Length > 63 ? id[..63].TrimEnd('-') : id;
        return id.Length > 0 ? id : null;
    }
}
