using Cria.Core.Adapters;
using Cria.Core.Conversion;
using Cria.Core.Gguf;
using Cria.Core.Models;
using Cria.Core.Tokenization;

namespace Cria.Fuzz;

/// <summary>The files a model arrives as: GGUF, safetensors, tokenizer.json and llama2.c's tokenizer.bin.</summary>
public static class ModelFileHarnesses
{
    /// <summary>The vocabulary size tokenizer.bin is read with: the bundled stories260K's.</summary>
    public const int Llama2cVocabSize = 512;

    /// <summary>
    /// A GGUF as the store and the server open one: header, metadata and tensor table (<see cref="GgufFile.Open"/>),
    /// what listings say of it (<see cref="ModelFacts"/>), then its hyperparameters and its tokenizer when it has them.
    /// </summary>
    public static void Gguf(byte[] input)
    {
        string path = ScratchFile.Write("input.gguf", input);
        try
        {
            _ = ModelFacts.Read(path);
            using GgufFile file = GgufFile.Open(path);
            if (file.ContainsKey("general.architecture"))
            {
                try
                {
                    _ = ModelConfig.FromGguf(file);
                }
                catch (ModelException)
                {
                }
            }
            if (file.ContainsKey("tokenizer.ggml.model"))
            {
                try
                {
                    Tokenizer tokenizer = Tokenizer.FromGguf(file);
                    UseTokenizer(tokenizer);
                }
                catch (TokenizerException)
                {
                }
            }
        }
        catch (GgufFormatException)
        {
        }
    }

    /// <summary>A safetensors file's header (PEFT adapters arrive as one), read as <see cref="SafeTensorsFile.Open"/> reads it.</summary>
    public static void SafeTensors(byte[] input)
    {
        string path = ScratchFile.Write("adapter_model.safetensors", input);
        try
        {
            SafeTensorsFile file = SafeTensorsFile.Open(path);
            foreach (SafeTensorInfo tensor in file.Tensors.Values)
            {
                _ = tensor.ElementCount;
            }
        }
        catch (ModelException)
        {
        }
    }

    /// <summary>A Hugging Face tokenizer.json (<c>cria tokenize --tokenizer</c>), then a short encode and decode.</summary>
    public static void TokenizerJson(byte[] input)
    {
        string path = ScratchFile.Write("tokenizer.json", input);
        Tokenizer tokenizer;
        try
        {
            tokenizer = Tokenizer.FromHuggingFaceJson(path);
        }
        catch (TokenizerException)
        {
            return;
        }
        UseTokenizer(tokenizer);
    }

    /// <summary>
    /// llama2.c's tokenizer.bin, read as <c>cria import llama2c</c> reads it (Cria has no reader of SentencePiece's
    /// protobuf tokenizer.model: this is the binary tokenizer format it does read).
    /// </summary>
    public static void TokenizerBin(byte[] input)
    {
        string path = ScratchFile.Write("tokenizer.bin", input);
        try
        {
            _ = Llama2cTokenizerFile.Read(path, Llama2cVocabSize);
        }
        catch (ConversionException)
        {
        }
    }

    private static void UseTokenizer(Tokenizer tokenizer)
    {
        int[] ids = tokenizer.Encode("Hello world! <s> 123 héllo\n", addSpecial: true, parseSpecial: true);
        _ = tokenizer.Decode(ids);
    }
}
