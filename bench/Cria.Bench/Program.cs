using Cria.Bench;

// Cria beside llama.cpp (LLamaSharp) on the same GGUF file. Modes:
//   compare --model F [--llama-model F2] [--prompt TEXT] [--gen 64] [--ppl-file F --ctx 128 --chunks N] [--threads 2] [--steps 8] [--kv f32|f16|q8_0] [--llama-no-repack]
//   bench   --model F [--threads 2] [--prompt 512] [--gen 128] [--reps 3] [--batch 512] [--kv f16|f32|q8_0] [--no-memory] [--max-other-load 0.25] [--llama-no-repack]
//           (also the default when the first argument is an option)
//   synth   --shape tiny|small-110m|tinyllama-1.1b|llama3.2-1b --type q4_0 --out F --vocab VOCAB [--seed 1]
//   quants  --model F [--rows 256]   (Cria's block formats against ggml's, bit for bit)
//   serve   --model F [--clients 1,4,8,16] [--gen 64] [--threads 2] [--prefix-tokens 1000] [--rounds 1]   (Cria's server under concurrent streaming clients)
//   batchstep --model F [--threads 2] [--steps 20] [--context 64]   (ms per batched decode step vs prefill chunk)
//   grammar [--vocab GGUF|tokenizer.json] [--schema FILE --text FILE] [--reps 5] [--model F --gen 64 --threads 2]   (ms per full grammar mask on a 32k vocabulary; decode tok/s with and without it)
//   kernels --model F [--threads 2] [--reps 30]   (GB/s of each decode matvec and its fraction of the read bandwidth)
//   attention [--heads 32 --kv-heads 4 --head-dim 64] [--length 2048] [--n 1] [--layers 22] [--kv f16|f32|q8_0] [--threads 2]   (the attention kernel alone)
//   train   --model F [--threads 2] [--ctx 256] [--rank 8] [--targets all] [--steps 3] [--warmup 1] [--activations auto|keep|recompute]   (LoRA training tokens/s)
//   lora    --model F --adapter A [--scale 1] [--prompt TEXT] [--gen 16]   (a Cria-written LoRA adapter in llama.cpp and in Cria: logits and greedy text)
//   audit   --model F [--records 20000] [--requests 4000] [--clients 8]   (the audit log: store append/verify rate, GET /health with it off and on)
//   memory  --engine cria|llama.cpp|none ...   (the child process of bench's memory phase)
string mode = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : "bench";
string[] rest = args.Length > 0 && args[0] == mode ? args[1..] : args;
try
{
    var options = new Options(rest);
    return mode switch
    {
        "compare" => CompareMode.Run(options),
        "bench" => BenchMode.Run(options),
        "synth" => SynthMode.Run(options),
        "quants" => QuantsMode.Run(options),
        "memory" => BenchMode.RunMemoryChild(options),
        "serve" => ServeMode.Run(options),
        "batchstep" => BatchStepMode.Run(options),
        "kernels" => KernelsMode.Run(options),
        "attention" => AttentionMode.Run(options),
        "grammar" => GrammarMode.Run(options),
        "train" => TrainMode.Run(options),
        "lora" => LoraMode.Run(options),
        "audit" => AuditMode.Run(options),
        _ => throw new ArgumentException($"unknown mode \"{mode}\" (compare, bench, quants, synth, serve, batchstep, grammar, kernels, attention, train, lora, audit)"),
    };
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
