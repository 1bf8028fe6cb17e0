namespace DeepPerception.Abstractions.Tenancy;

/// <summary>
/// The shape of an API key secret: <c>dpk_{tenantId}_{keyId}_{random}</c>, where random is 64 lowercase hex characters
/// (256 bits). The tenant and key id let the API route a presented key to its tenant grain without a lookup table.
/// </summary>
public static class ApiKeyFormat
{
    /// <summary>The secret's fixed prefix.</summary>
    public const string Prefix = "dpk_";

    /// <summary>Formats a secret.</summary>
    public static string Format(string tenantId, string keyId, string random) => $"{Prefix}{tenantId}_{keyId}_{random}";

    /// <summary>Parses a presented secret; returns false for anything that is not shaped like a platform key.</summary>
    public static bool TryParse(string? secret, out string tenantId, out string keyId)
    {
        tenantId = string.Empty;
        keyId = string.Empty;
        if (secret is null || !secret.StartsWith(Prefix, StringComparison.Ordinal) || secret.Length > 256)
        {
            return false;
        }

        var parts = secret[Prefix.Length..].Split('_');
        if (parts.Length != 3 || parts[0].Length == 0 || parts[1].Length == 0 || parts[2].Length != 64)
        {
            return false;
        }

        tenantId = parts[0];
        keyId = parts[1];
        return true;
    }
}
