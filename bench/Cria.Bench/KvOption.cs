using Cria.Core.Models;

namespace Cria.Bench;

/// <summary>The --kv f16|f32|q8_0 option: one KV cache type for both engines.</summary>
internal static class KvOption
{
    public static KvCacheType Parse(Options o, KvCacheType fallback) => o.String("kv") switch
    {
        null => fallback,
        "f16" => KvCacheType.F16,
        "f32" => KvCacheType.F32,
        "q8_0" => KvCacheType.Q8_0,
        string v => throw new ArgumentException($"--kv takes f16, f32 or q8_0, not \"{v}\""),
    };

    public static string Name(KvCacheType t) => t switch
    {
        KvCacheType.F32 => "f32",
        KvCacheType.Q8_0 => "q8_0",
        _ => "f16",
    };
}
