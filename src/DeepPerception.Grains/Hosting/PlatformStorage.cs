namespace DeepPerception.Grains.Hosting;

/// <summary>Names shared by the platform grains and their hosts.</summary>
public static class PlatformStorage
{
    /// <summary>The grain storage provider name every platform grain persists to.</summary>
    public const string Name = "platform";
}
