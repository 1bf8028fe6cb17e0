using DeepPerception.Kvg;

namespace DeepPerception.Core.Tests.Kvg;

/// <summary>Per-family box conventions: registry, exact conversions, round trips, clamping, rejection of NaN.</summary>
public sealed class BoxConventionsTests
{
    private static readonly ImageGeometry Geometry = new(640, 480, 644, 476);

    [Fact]
    public void Registry_resolves_families_case_insensitively()
    {
        Assert.IsType<Qwen2VlBoxConvention>(BoxConventions.For("qwen2-vl"));
        Assert.IsType<Qwen25VlBoxConvention>(BoxConventions.For("Qwen2.5-VL"));
        Assert.Contains("qwen2-vl", BoxConventions.Families);
        var e = Assert.Throws<BoxConventionException>(() => BoxConventions.For("llava"));
        Assert.Contains("llava", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Qwen2_vl_grid_is_relative_to_the_original_image()
    {
        var c = BoxConventions.For("qwen2-vl");
        var grid = c.FromPixels(new BoundingBox(64, 48, 320, 240), Geometry);
        Assert.Equal(new ModelBox(100, 100, 500, 500), grid);
        Assert.Equal("(100,100),(500,500)", c.FormatAnswer(new BoundingBox(64, 48, 320, 240), Geometry));
        Assert.Equal(new BoundingBox(64, 48, 320, 240), c.ToPixels(grid.ToBoundingBox(), Geometry));

        // The resized size does not matter for Qwen2-VL.
        Assert.Equal(grid, c.FromPixels(new BoundingBox(64, 48, 320, 240), new ImageGeometry(640, 480)));
    }

    [Fact]
    public void Qwen2_vl_truncates()
    {
        var c = BoxConventions.For("qwen2-vl");

        // 0.9999 pixel of 1000 -> 0.9999 grid units -> 0; the right edge W -> 1000.
        Assert.Equal(new ModelBox(0, 0, 1000, 1000), c.FromPixels(new BoundingBox(0.9999, 0.9999, 1000, 1000), new ImageGeometry(1000, 1000)));
        Assert.Equal(new ModelBox(1, 0, 999, 1000), c.FromPixels(new BoundingBox(1.0, 0, 999.9, 1000), new ImageGeometry(1000, 1000)));
    }

    [Fact]
    public void Qwen25_vl_uses_pixels_of_the_resized_image()
    {
        var c = BoxConventions.For("qwen2.5-vl");

        // round(64 * 644/640) = round(64.4) = 64; round(48 * 476/480) = round(47.6) = 48; 322; 238.
        var model = c.FromPixels(new BoundingBox(64, 48, 320, 240), Geometry);
        Assert.Equal(new ModelBox(64, 48, 322, 238), model);
        Assert.Equal("(64,48),(322,238)", model.ToAnswerText());
        Assert.Equal(new BoundingBox(64.0 * 640 / 644, 48.0 * 480 / 476, 322.0 * 640 / 644, 238.0 * 480 / 476), c.ToPixels(model.ToBoundingBox(), Geometry));
    }

    [Fact]
    public void Qwen25_vl_rounds_half_to_even_like_python()
    {
        var c = BoxConventions.For("qwen2.5-vl");

        // Scale 2: 0.25 -> 0.5 -> 0; 0.75 -> 1.5 -> 2; 1.25 -> 2.5 -> 2.
        Assert.Equal(new ModelBox(0, 2, 2, 2), c.FromPixels(new BoundingBox(0.25, 0.75, 1.25, 1.25), new ImageGeometry(10, 10, 20, 20)));
    }

    [Theory]
    [InlineData("qwen2-vl")]
    [InlineData("qwen2.5-vl")]
    public void Round_trip_is_within_the_quantisation_bound(string family)
    {
        var c = BoxConventions.For(family);
        var random = new Random(1234);
        foreach (var g in new[] { Geometry, new ImageGeometry(1920, 1080, 1932, 1092), new ImageGeometry(37, 1013, 28, 1008) })
        {
            var (bx, by) = c.QuantisationBound(g);
            for (var i = 0; i < 500; i++)
            {
                var x1 = random.NextDouble() * g.Width;
                var x2 = random.NextDouble() * g.Width;
                var y1 = random.NextDouble() * g.Height;
                var y2 = random.NextDouble() * g.Height;
                var original = new BoundingBox(x1, y1, x2, y2).Normalized();
                var back = c.ToPixels(c.FromPixels(original, g).ToBoundingBox(), g);
                Assert.InRange(Math.Abs(back.X1 - original.X1), 0, bx + 1e-9);
                Assert.InRange(Math.Abs(back.X2 - original.X2), 0, bx + 1e-9);
                Assert.InRange(Math.Abs(back.Y1 - original.Y1), 0, by + 1e-9);
                Assert.InRange(Math.Abs(back.Y2 - original.Y2), 0, by + 1e-9);
            }
        }
    }

    [Fact]
    public void Qwen2_vl_bound_is_one_thousandth_of_the_size()
    {
        Assert.Equal((0.64, 0.48), BoxConventions.For("qwen2-vl").QuantisationBound(Geometry));
    }

    [Theory]
    [InlineData("qwen2-vl")]
    [InlineData("qwen2.5-vl")]
    public void Boxes_are_clamped_to_the_image(string family)
    {
        var c = BoxConventions.For(family);
        var model = c.FromPixels(new BoundingBox(-10, -5, 700, 500), Geometry);
        var full = c.FromPixels(new BoundingBox(0, 0, 640, 480), Geometry);
        Assert.Equal(full, model);

        var back = c.ToPixels(new BoundingBox(-50, -50, 5000, 5000), Geometry);
        Assert.Equal(new BoundingBox(0, 0, 640, 480), back);
    }

    [Theory]
    [InlineData("qwen2-vl")]
    [InlineData("qwen2.5-vl")]
    public void Inverted_boxes_are_normalised(string family)
    {
        var c = BoxConventions.For(family);
        Assert.Equal(c.FromPixels(new BoundingBox(64, 48, 320, 240), Geometry), c.FromPixels(new BoundingBox(320, 240, 64, 48), Geometry));
        Assert.Equal(c.ToPixels(new BoundingBox(10, 20, 30, 40), Geometry), c.ToPixels(new BoundingBox(30, 40, 10, 20), Geometry));
    }

    [Theory]
    [InlineData("qwen2-vl", double.NaN)]
    [InlineData("qwen2-vl", double.PositiveInfinity)]
    [InlineData("qwen2.5-vl", double.NaN)]
    [InlineData("qwen2.5-vl", double.NegativeInfinity)]
    public void Non_finite_coordinates_are_rejected(string family, double bad)
    {
        var c = BoxConventions.For(family);
        Assert.Throws<BoxConventionException>(() => c.FromPixels(new BoundingBox(0, bad, 10, 10), Geometry));
        Assert.Throws<BoxConventionException>(() => c.ToPixels(new BoundingBox(0, 0, bad, 10), Geometry));
    }

    [Fact]
    public void Bad_geometry_is_rejected()
    {
        Assert.Throws<BoxConventionException>(() => BoxConventions.For("qwen2-vl").FromPixels(new BoundingBox(0, 0, 1, 1), new ImageGeometry(0, 10)));
        var e = Assert.Throws<BoxConventionException>(() => BoxConventions.For("qwen2.5-vl").FromPixels(new BoundingBox(0, 0, 1, 1), new ImageGeometry(10, 10)));
        Assert.Contains("resized", e.Message, StringComparison.Ordinal);
    }
}
