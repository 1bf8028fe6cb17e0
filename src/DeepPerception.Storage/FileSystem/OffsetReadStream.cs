namespace DeepPerception.Storage.FileSystem;

/// <summary>A read-only, seekable view of a file stream that starts at a fixed offset (after the artifact header).</summary>
internal sealed class OffsetReadStream(FileStream inner, long offset) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => inner.Length - offset;

    public override long Position
    {
        get => inner.Position - offset;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            inner.Position = value + offset;
        }
    }

    public override int Read(byte[] buffer, int count, int size) => inner.Read(buffer, count, size);

    public override int Read(Span<byte> buffer) => inner.Read(buffer);

    public override Task<int> ReadAsync(byte[] buffer, int index, int count, CancellationToken cancellationToken) =>
        inner.ReadAsync(buffer, index, count, cancellationToken);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        inner.ReadAsync(buffer, cancellationToken);

    public override long Seek(long seekOffset, SeekOrigin origin)
    {
        var target = origin switch
        {
            SeekOrigin.Begin => seekOffset,
            SeekOrigin.Current => Position + seekOffset,
            SeekOrigin.End => Length + seekOffset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        Position = target;
        return target;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException("Artifact streams are read-only.");

    public override void Write(byte[] buffer, int index, int count) =>
        throw new NotSupportedException("Artifact streams are read-only.");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync() => inner.DisposeAsync();
}
