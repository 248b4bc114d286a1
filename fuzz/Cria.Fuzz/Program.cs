using Cria.Fuzz;

using SharpFuzz;

// cria-fuzz TARGET            the AFL loop (fuzz/run starts it under afl-fuzz, assemblies instrumented)
// cria-fuzz TARGET FILE...    runs each file once through the harness and says what happened (triage)
// cria-fuzz list              the targets
// cria-fuzz seeds DIR         writes the synthetic seeds (GGUF, safetensors) into DIR/TARGET/
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.Error.WriteLine("usage: Cria.Fuzz TARGET [FILE...] | list | seeds DIR");
    return 2;
}
if (args[0] == "seeds" && args.Length == 2)
{
    SeedFiles.Write(args[1]);
    return 0;
}
if (args[0] == "list")
{
    foreach (FuzzTarget t in FuzzTargets.All)
    {
        Console.WriteLine($"{t.Name,-20} {t.Description}");
    }
    return 0;
}
if (FuzzTargets.Find(args[0]) is not { } target)
{
    Console.Error.WriteLine($"unknown target '{args[0]}'; `Cria.Fuzz list` names them");
    return 2;
}
if (args.Length > 1)
{
    int failed = 0;
    foreach (string file in args[1..])
    {
        try
        {
            target.Run(File.ReadAllBytes(file));
            Console.WriteLine($"ok      {file}");
        }
        catch (Exception e)
        {
            failed++;
            Console.WriteLine($"FINDING {file}: {e}");
        }
    }
    return failed == 0 ? 0 : 1;
}
Fuzzer.OutOfProcess.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    target.Run(buffer.ToArray());
});
return 0;
