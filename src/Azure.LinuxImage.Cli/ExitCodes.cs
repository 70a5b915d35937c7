namespace Azure.LinuxImage.Cli;

/// <summary>
/// The tool's exit codes, one meaning each, so a script can tell bad input from a bad command line
/// from our own bug. Listed in --help (<see cref="HelpText"/>).
/// </summary>
internal static class ExitCodes
{
    public const int Success = 0;

    /// <summary>An error diagnostic: the input was rejected or a rule failed (LIMG codes other than LIMG0006).</summary>
    public const int Rejected = 1;

    /// <summary>The command line could not be parsed (unknown command or option, missing argument).</summary>
    public const int Usage = 2;

    /// <summary>LIMG0006: a bug in linuximage; please report it with the log.</summary>
    public const int Internal = 3;

    /// <summary>Cancelled (Ctrl+C), as shells report SIGINT.</summary>
    public const int Cancelled = 130;

    public const string HelpText =
        "Results are printed on standard output; diagnostics (LIMGxxxx errors and warnings) on standard error. " +
        "Exit codes: 0 success; 1 the input was rejected (an error diagnostic, e.g. a failed rule or an unreadable disk); " +
        "2 usage error (the command line could not be parsed); 3 internal error (LIMG0006, a bug: please report it); 130 cancelled.";
}
