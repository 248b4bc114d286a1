using Cria.Core.Gguf;
using Cria.Core.Models;
using Cria.Core.Tokenization;
using Cria.Numerics.Threading;

namespace Cria.Core.Training;

/// <summary>
/// A GGUF model opened as the frozen base of LoRA training: the weights stay in the file's types and
/// layout (memory-mapped, not repacked), because the backward reads W row by row and dequantizes it
/// on the fly — so a Q4_0 base trains in about Q4_0 memory.
/// </summary>
public sealed class BaseModel : IDisposable
{
    private BaseModel(string path, LlamaModel model, Tokenizer tokenizer, string? chatTemplate)
    {
        FilePath = path;
        Model = model;
        Tokenizer = tokenizer;
        ChatTemplateSource = chatTemplate;
    }

    public string FilePath { get; }

    public LlamaModel Model { get; }

    public Tokenizer Tokenizer { get; }

    /// <summary>The GGUF's <c>tokenizer.chat_template</c>, or null.</summary>
    public string? ChatTemplateSource { get; }

    public ModelConfig Config => Model.Config;

    /// <summary>Opens and validates <paramref name="path"/>; errors name the file and what is wrong.</summary>
    public static BaseModel Load(string path, ComputePool? pool = null)
    {
        GgufFile file = GgufFile.Open(path);
        try
        {
            Tokenizer tokenizer = Tokenizer.FromGguf(file);
            ModelConfig config = ModelConfig.FromGguf(file);
            LlamaWeights weights = LlamaWeights.Bind(file, config, repack: false);
            var model = new LlamaModel(config, weights, pool ?? ComputePool.Shared, file);
            if (tokenizer.VocabSize > model.VocabSize)
            {
                throw new ModelException($"{path}: the tokenizer has {tokenizer.VocabSize} tokens but the embedding only {model.VocabSize} rows");
            }
            return new BaseModel(path, model, tokenizer, file.GetString("tokenizer.chat_template"));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public void Dispose() => Model.Dispose();
}
