using DeepPerception.Kvg;

namespace DeepPerception.Core.Tests.Kvg;

/// <summary>Python <c>float(str)</c> and <c>repr(float)</c>, against values worked out from CPython's grammar.</summary>
public sealed class PythonFloatTests
{
    [Theory]
    [InlineData("1", 1.0)]
    [InlineData(" 12 ", 12.0)]
    [InlineData("\t\n7\r", 7.0)]
    [InlineData("+1.5", 1.5)]
    [InlineData("-2", -2.0)]
    [InlineData("1_000", 1000.0)]
    [InlineData("1_000.000_5", 1000.0005)]
    [InlineData("1e3", 1000.0)]
    [InlineData("1E-2", 0.01)]
    [InlineData("1e1_0", 1e10)]
    [InlineData("1.", 1.0)]
    [InlineData(".5", 0.5)]
    [InlineData("-.5e1", -5.0)]
    [InlineData("007", 7.0)]
    [InlineData("\u0661\u0662\u0663", 123.0)] // Arabic-Indic digits
    [InlineData("\u0663.\u0665", 3.5)]
    [InlineData("\u00A012\u2003", 12.0)] // Unicode spaces become spaces and are stripped
    [InlineData("\U0001D7CF\U0001D7CE", 10.0)] // mathematical bold digits (astral Nd)
    [InlineData("0.1", 0.1)]
    public void Accepts_python_float_literals(string text, double expected)
    {
        Assert.True(PythonFloat.TryParse(text, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("inf", double.PositiveInfinity)]
    [InlineData("-Infinity", double.NegativeInfinity)]
    [InlineData("+INF", double.PositiveInfinity)]
    [InlineData(" iNfInItY ", double.PositiveInfinity)]
    [InlineData("1e400", double.PositiveInfinity)]
    [InlineData("-1e400", double.NegativeInfinity)]
    public void Accepts_infinities_and_overflow(string text, double expected)
    {
        Assert.True(PythonFloat.TryParse(text, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("nan")]
    [InlineData("-NaN")]
    [InlineData("+nan")]
    public void Accepts_nan(string text)
    {
        Assert.True(PythonFloat.TryParse(text, out var value));
        Assert.True(double.IsNaN(value));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(".")]
    [InlineData("e3")]
    [InlineData("1e")]
    [InlineData("1e+")]
    [InlineData("1__0")]
    [InlineData("_1")]
    [InlineData("1_")]
    [InlineData("1_.5")]
    [InlineData("1._5")]
    [InlineData("1e_5")]
    [InlineData(" _1")]
    [InlineData("0x10")]
    [InlineData("1,5")]
    [InlineData("1 2")]
    [InlineData("12abc")]
    [InlineData("--1")]
    [InlineData("+-1")]
    [InlineData("1.5.2")]
    [InlineData("infin")]
    [InlineData("nana")]
    [InlineData("in_f")]
    [InlineData("1\u00E9")]
    [InlineData("1\0")]
    [InlineData("\u00BD")] // vulgar fraction one half: numeric but not a decimal digit
    [InlineData("- 1")]
    public void Rejects_what_python_rejects(string text)
    {
        Assert.False(PythonFloat.TryParse(text, out _));
    }

    [Fact]
    public void Rejects_null()
    {
        Assert.False(PythonFloat.TryParse(null, out _));
    }

    [Theory]
    [InlineData(519.0, "519.0")]
    [InlineData(0.1, "0.1")]
    [InlineData(0.0, "0.0")]
    [InlineData(-0.0, "-0.0")]
    [InlineData(2.5, "2.5")]
    [InlineData(100.0, "100.0")]
    [InlineData(1e16, "1e+16")]
    [InlineData(1e22, "1e+22")]
    [InlineData(1e-5, "1e-05")]
    [InlineData(1.5e-7, "1.5e-07")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(123456789012345.0, "123456789012345.0")]
    [InlineData(1234567890123456.0, "1234567890123456.0")]
    [InlineData(12345678901234567.0, "1.2345678901234568e+16")]
    [InlineData(-1234.5678, "-1234.5678")]
    [InlineData(double.NaN, "nan")]
    [InlineData(double.PositiveInfinity, "inf")]
    [InlineData(double.NegativeInfinity, "-inf")]
    public void Repr_matches_python(double value, string expected)
    {
        Assert.Equal(expected, PythonFloat.Repr(value));
    }

    [Fact]
    public void Repr_of_widened_float32_matches_python()
    {
        // repr(torch.tensor(0.8).item()) in Python.
        Assert.Equal("0.800000011920929", PythonFloat.Repr(0.8f));
        Assert.Equal("0.3333333432674408", PythonFloat.Repr(1f / 3f));
    }
}
