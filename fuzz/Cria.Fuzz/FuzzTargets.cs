namespace Cria.Fuzz;

/// <summary>Every fuzz target, by the name <c>fuzz/run</c>, the corpus folders and the tests use.</summary>
public static class FuzzTargets
{
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new("gguf", ModelFileHarnesses.Gguf, "GgufFile.Open (header, metadata, tensor table), ModelFacts, ModelConfig, the GGUF tokenizer"),
        new("safetensors", ModelFileHarnesses.SafeTensors, "SafeTensorsFile.Open (header length, JSON header, dtypes, shapes, offsets)"),
        new("tokenizer-json", ModelFileHarnesses.TokenizerJson, "Tokenizer.FromHuggingFaceJson, then encode and decode"),
        new("tokenizer-bin", ModelFileHarnesses.TokenizerBin, "Llama2cTokenizerFile.Read (llama2.c tokenizer.bin, 512 tokens)"),
        new("jinja", TextHarnesses.Jinja, "ChatTemplate: parse, probes, render a fixed conversation"),
        new("modelfile", TextHarnesses.Modelfile, "Modelfile.Parse"),
        new("gbnf", TextHarnesses.Gbnf, "CompiledGrammar.Parse, then 64 steps of masked generation over a byte vocabulary"),
        new("json-schema", TextHarnesses.JsonSchema, "CompiledGrammar.FromJsonSchema, then masked generation"),
        new("openai-chat", RequestHarnesses.OpenAiChat, "/v1/chat/completions: JsonBody, OpenAiMapping, rendering of messages and tools"),
        new("openai-completions", RequestHarnesses.OpenAiCompletions, "/v1/completions: JsonBody, OpenAiMapping"),
        new("openai-embeddings", RequestHarnesses.OpenAiEmbeddings, "/v1/embeddings: JsonBody, OpenAiEmbeddingMapping"),
        new("ollama-chat", RequestHarnesses.OllamaChat, "/api/chat: JsonBody, OllamaMapping (keep_alive, options, format, tools), rendering"),
        new("ollama-generate", RequestHarnesses.OllamaGenerate, "/api/generate: JsonBody, OllamaMapping, rendering"),
        new("ollama-embed", RequestHarnesses.OllamaEmbed, "/api/embed: JsonBody, model name, keep_alive"),
        new("oci-manifest", HubHarnesses.OciManifest, "Manifest.Parse; blob paths inside the store; stored form parses back"),
        new("hub-path", HubHarnesses.HubPath, "ModelName, Digest, blob file names, hub repository and tag rules → paths inside the store"),
    ];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);
}
