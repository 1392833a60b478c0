using System.Diagnostics.CodeAnalysis;

namespace Thynapse.Core;

/// <summary>Rules for service names (PROTOCOL.md §3.3): 1–64 characters from <c>A–Z a–z 0–9 _ - .</c>.</summary>
public static class ServiceName
{
    /// <summary>The longest service name.</summary>
    public const int MaxLength = 64;

    /// <summary>Checks a service name, explaining the problem.</summary>
    public static bool TryValidate(string? name, [NotNullWhen(false)] out string? error)
    {
        if (string.IsNullOrEmpty(name))
        {
            error = "the service name is empty";
            return false;
        }

        if (name.Length > MaxLength)
        {
            error = $"the service name is longer than {MaxLength} characters";
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            {
                error = $"the service name contains '{c}' (allowed: letters, digits, '_', '-', '.')";
                return false;
            }
        }

        error = null;
        return true;
    }
}
