using System.Globalization;
using System.Text;

namespace DeepPerception.Kvg;

/// <summary>
/// Character classes of Python 3 <c>re</c> on <c>str</c> patterns, written as .NET regex fragments so that
/// ported patterns keep Python's semantics exactly.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Python <c>\d</c> on str matches every Unicode decimal digit (category Nd), including digits outside the
/// Basic Multilingual Plane. .NET <c>\d</c> is <c>\p{Nd}</c> as well but works on UTF-16 code units, so it cannot
/// match a surrogate pair; <see cref="Digit"/> adds the astral Nd ranges as surrogate-pair alternatives.</item>
/// <item>Python <c>\s</c> on str is <c>str.isspace()</c>: it includes U+001C..U+001F (information separators),
/// which .NET <c>\s</c> does not. <see cref="Whitespace"/> and <see cref="NotWhitespaceOrNewlineTabVtabSpace"/>
/// list Python's set explicitly.</item>
/// <item>Python <c>.</c> without DOTALL and .NET <c>.</c> without Singleline both match anything but <c>\n</c>.</item>
/// </list>
/// </remarks>
public static class PythonRegexClasses
{
    /// <summary>The characters for which Python's <c>str.isspace()</c> is true (Unicode 6.3 and later).</summary>
    public const string WhitespaceChars =
        "\t\n\v\f\r\u001C\u001D\u001E\u001F \u0085\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008" +
        "\u2009\u200A\u2028\u2029\u202F\u205F\u3000";

    /// <summary>Python <c>\s</c> as a .NET character class.</summary>
    public const string Whitespace =
        @"[\t\n\x0B\f\r\x1C-\x1F \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";

    /// <summary>Python <c>[\S\n\t\v ]</c>: anything except Python whitespace other than newline, tab, vertical tab and space.</summary>
    public const string NotWhitespaceOrNewlineTabVtabSpace =
        @"[^\f\r\x1C-\x1F\x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";

    /// <summary>Python <c>\d</c> (any Unicode decimal digit, BMP or astral) as a .NET group.</summary>
    public static string Digit { get; } = BuildDigit();

    /// <summary>
    /// Translates a Python <c>str</c> regex that uses <c>\d</c>, <c>\s</c> and <c>[\S\n\t\v ]</c> (outside other
    /// character classes) into the equivalent .NET pattern.
    /// </summary>
    public static string Translate(string pythonPattern)
    {
        ArgumentNullException.ThrowIfNull(pythonPattern);
        var sb = new StringBuilder(pythonPattern.Length * 2);
        for (var i = 0; i < pythonPattern.Length; i++)
        {
            if (pythonPattern.AsSpan(i).StartsWith(@"[\S\n\t\v ]", StringComparison.Ordinal))
            {
                sb.Append(NotWhitespaceOrNewlineTabVtabSpace);
                i += @"[\S\n\t\v ]".Length - 1;
                continue;
            }

            var c = pythonPattern[i];
            if (c == '\\' && i + 1 < pythonPattern.Length)
            {
                var next = pythonPattern[i + 1];
                switch (next)
                {
                    case 'd':
                        sb.Append(Digit);
                        break;
                    case 's':
                        sb.Append(Whitespace);
                        break;
                    case 'D' or 'S' or 'w' or 'W' or 'b' or 'B':
                        throw new NotSupportedException($"Python class \\{next} has no translation here.");
                    default:
                        sb.Append(c).Append(next);
                        break;
                }

                i++;
                continue;
            }

            if (c == '[')
            {
                throw new NotSupportedException("Character classes other than [\\S\\n\\t\\v ] are not translated.");
            }

            sb.Append(c);
        }

        return sb.ToString();
    }

    private static string BuildDigit()
    {
        // Astral Nd code points, grouped by high surrogate into low-surrogate ranges.
        var byHigh = new SortedDictionary<char, List<(char Lo, char Hi)>>();
        for (var cp = 0x10000; cp <= 0x10FFFF; cp++)
        {
            if (CharUnicodeInfo.GetUnicodeCategory(cp) != UnicodeCategory.DecimalDigitNumber)
            {
                continue;
            }

            var s = char.ConvertFromUtf32(cp);
            if (!byHigh.TryGetValue(s[0], out var ranges))
            {
                ranges = [];
                byHigh[s[0]] = ranges;
            }

            if (ranges.Count > 0 && ranges[^1].Hi + 1 == s[1])
            {
                ranges[^1] = (ranges[^1].Lo, s[1]);
            }
            else
            {
                ranges.Add((s[1], s[1]));
            }
        }

        var sb = new StringBuilder(@"(?:\p{Nd}");
        foreach (var (high, ranges) in byHigh)
        {
            sb.Append(@"|\u").Append(((int)high).ToString("X4", CultureInfo.InvariantCulture)).Append('[');
            foreach (var (lo, hi) in ranges)
            {
                sb.Append(@"\u").Append(((int)lo).ToString("X4", CultureInfo.InvariantCulture));
                if (hi != lo)
                {
                    sb.Append(@"-\u").Append(((int)hi).ToString("X4", CultureInfo.InvariantCulture));
                }
            }

            sb.Append(']');
        }

        return sb.Append(')').ToString();
    }
}

/// <summary>
/// Python's <c>float(str)</c> conversion and <c>repr(float)</c> formatting, reproduced exactly.
/// </summary>
/// <remarks>
/// Grammar accepted (CPython <c>PyFloat_FromString</c>): Unicode decimal digits are first mapped to ASCII and
/// Unicode whitespace to a space; underscores are allowed only between two digits; surrounding ASCII whitespace
/// is stripped; then <c>[sign] (inf | infinity | nan)</c> (case-insensitive) or
/// <c>[sign] (digits [. [digits]] | . digits) [(e|E) [sign] digits]</c> must consume the whole rest. Overflow
/// gives ±infinity, as in Python. Hexadecimal is rejected.
/// </remarks>
public static class PythonFloat
{
    /// <summary>Converts like Python <c>float(text)</c>; false where Python raises <c>ValueError</c>.</summary>
    public static bool TryParse(string? text, out double value)
    {
        value = 0;
        if (text is null)
        {
            return false;
        }

        // 1. Unicode digits -> ASCII, Unicode spaces -> ' ', any other non-ASCII -> invalid.
        var ascii = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            int cp;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                cp = char.ConvertToUtf32(text[i], text[i + 1]);
                i++;
            }
            else
            {
                cp = text[i];
            }

            if (cp < 127)
            {
                ascii.Append((char)cp);
            }
            else if (cp <= 0xFFFF && PythonRegexClasses.WhitespaceChars.Contains((char)cp, StringComparison.Ordinal))
            {
                ascii.Append(' ');
            }
            else if (CharUnicodeInfo.GetUnicodeCategory(cp) == UnicodeCategory.DecimalDigitNumber)
            {
                var digit = CharUnicodeInfo.GetDecimalDigitValue(char.ConvertFromUtf32(cp), 0);
                if (digit < 0)
                {
                    return false;
                }

                ascii.Append((char)('0' + digit));
            }
            else
            {
                return false;
            }
        }

        var s = ascii.ToString();

        // 2. Underscores: only between digits (checked on the unstripped text, as CPython does).
        if (s.Contains('_', StringComparison.Ordinal))
        {
            var prev = '\0';
            var without = new StringBuilder(s.Length);
            foreach (var c in s)
            {
                if (c == '_')
                {
                    if (!IsAsciiDigit(prev))
                    {
                        return false;
                    }
                }
                else
                {
                    if (prev == '_' && !IsAsciiDigit(c))
                    {
                        return false;
                    }

                    without.Append(c);
                }

                prev = c;
            }

            if (prev == '_')
            {
                return false;
            }

            s = without.ToString();
        }

        // 3. Strip ASCII whitespace.
        var span = s.AsSpan().Trim(" \t\n\v\f\r");
        if (span.IsEmpty)
        {
            return false;
        }

        // 4. Sign, then inf/nan or a decimal literal.
        var negative = false;
        var pos = 0;
        if (span[0] is '+' or '-')
        {
            negative = span[0] == '-';
            pos = 1;
        }

        var body = span[pos..];
        if (body.Equals("inf", StringComparison.OrdinalIgnoreCase) || body.Equals("infinity", StringComparison.OrdinalIgnoreCase))
        {
            value = negative ? double.NegativeInfinity : double.PositiveInfinity;
            return true;
        }

        if (body.Equals("nan", StringComparison.OrdinalIgnoreCase))
        {
            value = double.NaN;
            return true;
        }

        if (!IsDecimalLiteral(body))
        {
            return false;
        }

        value = double.Parse(span, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture);
        return true;
    }

    /// <summary>Python <c>repr(x)</c> of a float (shortest round-trip digits, Python's notation switch).</summary>
    public static string Repr(double x)
    {
        if (double.IsNaN(x))
        {
            return "nan";
        }

        if (double.IsInfinity(x))
        {
            return x > 0 ? "inf" : "-inf";
        }

        var r = x.ToString("R", CultureInfo.InvariantCulture);
        var negative = r.StartsWith('-');
        if (negative)
        {
            r = r[1..];
        }

        var exponent = 0;
        var ePos = r.IndexOfAny(['E', 'e']);
        if (ePos >= 0)
        {
            exponent = int.Parse(r.AsSpan(ePos + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            r = r[..ePos];
        }

        var dot = r.IndexOf('.', StringComparison.Ordinal);
        var intPart = dot >= 0 ? r[..dot] : r;
        var fracPart = dot >= 0 ? r[(dot + 1)..] : string.Empty;
        var digits = (intPart + fracPart).TrimStart('0');
        string body;
        if (digits.Length == 0)
        {
            body = "0.0";
        }
        else
        {
            // Decimal exponent of the first significant digit.
            var leadingZeros = (intPart + fracPart).Length - (intPart + fracPart).TrimStart('0').Length;
            var decExp = intPart.Length - 1 - leadingZeros + exponent;
            digits = digits.TrimEnd('0');
            if (decExp is >= -4 and < 16)
            {
                if (decExp >= digits.Length - 1)
                {
                    body = digits + new string('0', decExp - digits.Length + 1) + ".0";
                }
                else if (decExp >= 0)
                {
                    body = digits[..(decExp + 1)] + "." + digits[(decExp + 1)..];
                }
                else
                {
                    body = "0." + new string('0', -decExp - 1) + digits;
                }
            }
            else
            {
                var mantissa = digits.Length == 1 ? digits : digits[0] + "." + digits[1..];
                body = mantissa + "e" + (decExp < 0 ? "-" : "+") + Math.Abs(decExp).ToString("00", CultureInfo.InvariantCulture);
            }
        }

        return negative ? "-" + body : body;
    }

    private static bool IsAsciiDigit(char c) => c is >= '0' and <= '9';

    private static bool IsDecimalLiteral(ReadOnlySpan<char> s)
    {
        var i = 0;
        var mantissaDigits = 0;
        while (i < s.Length && IsAsciiDigit(s[i]))
        {
            i++;
            mantissaDigits++;
        }

        if (i < s.Length && s[i] == '.')
        {
            i++;
            while (i < s.Length && IsAsciiDigit(s[i]))
            {
                i++;
                mantissaDigits++;
            }
        }

        if (mantissaDigits == 0)
        {
            return false;
        }

        if (i < s.Length && s[i] is 'e' or 'E')
        {
            i++;
            if (i < s.Length && s[i] is '+' or '-')
            {
                i++;
            }

            var expDigits = 0;
            while (i < s.Length && IsAsciiDigit(s[i]))
            {
                i++;
                expDigits++;
            }

            if (expDigits == 0)
            {
                return false;
            }
        }

        return i == s.Length;
    }
}
