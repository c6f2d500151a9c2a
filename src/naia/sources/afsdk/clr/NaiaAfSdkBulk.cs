// NAIA's bulk decode helper for the PI AF SDK connector (naia.sources.afsdk).
//
// AFValues.GetValueArrays hands over object[] values, DateTime[] timestamps and
// AFValueStatus[] flags. Read element by element from Python, each costs a pythonnet call;
// here one call turns them into primitive arrays (ticks, doubles, status codes) that Python
// copies into numpy in one memcpy each. Only values that are not plain numbers (digital and
// system states, strings) are left for Python to read one by one, by index.
//
// It references nothing but mscorlib, so the same source runs with the AVEVA AF SDK on the
// .NET Framework and with the stand-in on Mono. The loader compiles it in memory at start-up
// with the runtime's own C# compiler (System.CodeDom); see docs/afsdk.md.
using System;

namespace Naia.AfSdk
{
    public sealed class BulkColumns
    {
        public long[] Ticks;
        public double[] Numbers; // NaN where the value is not a number
        public int[] Status;
        public int[] Others; // indices of the values that are not numbers
    }

    public static class Bulk
    {
        public const int Version = 1;

        public static BulkColumns Columns(object[] values, DateTime[] timestamps, Array flags)
        {
            int n = timestamps.Length;
            if (values.Length != n || flags.Length != n)
            {
                throw new ArgumentException("values, timestamps and flags differ in length");
            }
            var result = new BulkColumns
            {
                Ticks = new long[n], Numbers = new double[n], Status = new int[n],
            };
            for (int i = 0; i < n; i++)
            {
                result.Ticks[i] = timestamps[i].Ticks;
            }
            CopyStatus(flags, result.Status);
            var others = new int[n];
            int count = 0;
            for (int i = 0; i < n; i++)
            {
                double number;
                if (TryNumber(values[i], out number))
                {
                    result.Numbers[i] = number;
                }
                else
                {
                    result.Numbers[i] = double.NaN;
                    others[count++] = i;
                }
            }
            result.Others = new int[count];
            Array.Copy(others, result.Others, count);
            return result;
        }

        /// <summary>Exact numeric types only: an AFEnumerationValue is IConvertible too and must
        /// not become its code.</summary>
        private static bool TryNumber(object value, out double number)
        {
            if (value is double) { number = (double)value; return true; }
            if (value is float) { number = (float)value; return true; }
            if (value is int) { number = (int)value; return true; }
            if (value is short) { number = (short)value; return true; }
            if (value is long) { number = (long)value; return true; }
            if (value is byte) { number = (byte)value; return true; }
            if (value is sbyte) { number = (sbyte)value; return true; }
            if (value is ushort) { number = (ushort)value; return true; }
            if (value is uint) { number = (uint)value; return true; }
            if (value is ulong) { number = (ulong)value; return true; }
            number = double.NaN;
            return false;
        }

        private static void CopyStatus(Array flags, int[] status)
        {
            try
            {
                Array.Copy(flags, status, status.Length); // an enum array copies as its Int32 values
                return;
            }
            catch (ArrayTypeMismatchException)
            {
            }
            catch (InvalidCastException)
            {
            }
            for (int i = 0; i < status.Length; i++)
            {
                status[i] = Convert.ToInt32(flags.GetValue(i));
            }
        }
    }
}
