using System.ComponentModel;
using Thynapse.ProcessKit;

namespace Thynapse.Interop.Tests;

/// <summary>The system interpreter the interop clients run on, and the check that it has pyzmq.</summary>
internal static class PythonZmq
{
    /// <summary>The interpreter (python3-zmq installs pyzmq for it).</summary>
    public const string Python = "/usr/bin/python3";

    /// <summary>Marks the test inconclusive when pyzmq (with CURVE, when <paramref name="curve"/>) is missing: without it the test cannot say anything.</summary>
    public static async Task RequireAsync(CancellationToken ct, bool curve = false)
    {
        int exitCode;
        try
        {
            using var probe = ChildProcess.Start(Python, "-c", curve ? "import zmq; assert zmq.has('curve')" : "import zmq");
            exitCode = await probe.WaitForExitAsync(TimeSpan.FromSeconds(15), ct);
        }
        catch (Win32Exception)
        {
            exitCode = -1; // no /usr/bin/python3 at all
        }

        if (exitCode != 0)
        {
            Assert.Inconclusive($"python3-zmq{(curve ? " with CURVE" : "")} is not installed: apt-get install -y python3-zmq");
        }
    }
}
