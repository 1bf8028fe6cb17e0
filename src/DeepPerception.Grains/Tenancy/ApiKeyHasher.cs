using System.Security.Cryptography;
using System.Text;
using DeepPerception.Abstractions.Tenancy;

namespace DeepPerception.Grains.Tenancy;

/// <summary>
/// Issues and checks API key secrets. A secret carries 256 random bits, so a single SHA-256 is a sufficient
/// one-way hash (a slow password hash adds nothing against brute force of a 256-bit key); only the hash is stored and
/// comparison is constant-time.
/// </summary>
public static class ApiKeyHasher
{
    /// <summary>Creates a new key id and secret for a tenant.</summary>
    public static (string KeyId, string Secret) Generate(string tenantId)
    {
        var keyId = Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant();
        var random = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();
        return (keyId, ApiKeyFormat.Format(tenantId, keyId, random));
    }

    /// <summary>Returns the stored form of a secret (lowercase hex SHA-256).</summary>
    public static string Hash(string secret) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(secret))).ToLowerInvariant();

    /// <summary>Checks a presented secret against a stored hash in constant time.</summary>
    public static bool Verify(string secret, string storedHash)
    {
        var presented = Encoding.ASCII.GetBytes(Hash(secret));
        var stored = Encoding.ASCII.GetBytes(storedHash);
        return CryptographicOperations.FixedTimeEquals(presented, stored);
    }
}
