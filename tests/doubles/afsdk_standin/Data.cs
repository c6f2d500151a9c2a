// OSIsoft.AF.Data: the enumerations the connector passes to the bulk calls.
namespace OSIsoft.AF.Data
{
    public enum AFBoundaryType
    {
        Inside = 0,
        Outside = 1,
        Interpolated = 2,
    }
}
