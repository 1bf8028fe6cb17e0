using System.Globalization;
using System.Text;

namespace DeepPerception.Kvg;

/// <summary>
/// Writes values the way Python's <c>json.dump</c> does (ensure_ascii, float <c>repr</c>, NaN/Infinity literals,
/// <c>indent</c> or the compact <c>", "</c> / <c>": "</c> separators), so output files match the reference tools.
/// </summary>
/// <remarks>
/// Supported values: null, bool, string, int, long, double (written with a fractional part like Python floats),
/// <see cref="PythonJson.Object"/> (ordered keys) and any other <see cref="System.Collections.IEnumerable"/> as a list.
/// </remarks>
public static class PythonJson
{
    /// <summary>An ordered JSON object.</summary>
    public sealed class Object : List<KeyValuePair<string, object?>>
    {
        /// <summary>Appends a key.</summary>
        public void Add(string key, object? value) => Add(new KeyValuePair<string, object?>(key, value));
    }

    /// <summary>Serialises a value; <paramref name="indent"/> null gives the compact form.</summary>
    public static string Serialize(object? value, int? indent = null)
    {
        var sb = new StringBuilder();
        Write(sb, value, indent, 0);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, object? value, int? indent, int level)
    {
        switch (value)
        {
            case null:
                sb.Append("null");
                break;
            case bool b:
                sb.Append(b ? "true" : "false");
                break;
            case string s:
                WriteString(sb, s);
                break;
            case int i:
                sb.Append(i.ToString(CultureInfo.InvariantCulture));
                break;
            case long l:
                sb.Append(l.ToString(CultureInfo.InvariantCulture));
                break;
            case double d:
                sb.Append(double.IsNaN(d) ? "NaN" : double.IsPositiveInfinity(d) ? "Infinity" : double.IsNegativeInfinity(d) ? "-Infinity" : PythonFloat.Repr(d));
                break;
            case Object o:
                WriteContainer(sb, '{', '}', o.Count, indent, level, (k, lvl) =>
                {
                    WriteString(sb, o[k].Key);
                    sb.Append(": ");
                    Write(sb, o[k].Value, indent, lvl);
                });
                break;
            case System.Collections.IEnumerable e:
                var items = e.Cast<object?>().ToList();
                WriteContainer(sb, '[', ']', items.Count, indent, level, (k, lvl) => Write(sb, items[k], indent, lvl));
                break;
            default:
                throw new ArgumentException($"Type {value.GetType()} is not supported by the JSON writer.", nameof(value));
        }
    }

    private static void WriteContainer(StringBuilder sb, char open, char close, int count, int? indent, int level, Action<int, int> item)
    {
        sb.Append(open);
        if (count == 0)
        {
            sb.Append(close);
            return;
        }

        for (var k = 0; k < count; k++)
        {
            if (indent is { } n)
            {
                sb.Append(k == 0 ? "\n" : ",\n").Append(' ', n * (level + 1));
            }
            else if (k > 0)
            {
                sb.Append(", ");
            }

            item(k, level + 1);
        }

        if (indent is { } m)
        {
            sb.Append('\n').Append(' ', m * level);
        }

        sb.Append(close);
    }

    private static void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < ' ' || c > '~')
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        sb.Append('"');
    }
}
