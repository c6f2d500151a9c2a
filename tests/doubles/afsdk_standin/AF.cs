// OSIsoft.AF.PISystems: only its Version, which the loader shows in /health.
using System.Reflection;

[assembly: AssemblyTitle("OSIsoft.AFSDK (NAIA stand-in)")]
[assembly: AssemblyDescription("A compiled stand-in of the PI AF SDK types NAIA uses; serves the NAIA Simulator's events")]
[assembly: AssemblyVersion("0.0.1.0")]

namespace OSIsoft.AF
{
    public sealed class PISystems
    {
        public string Version
        {
            get { return "0.0.1 (NAIA stand-in, not the AVEVA AF SDK)"; }
        }
    }
}
