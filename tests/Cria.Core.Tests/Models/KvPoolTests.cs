using Cria.Core.Models;

namespace Cria.Core.Tests.Models;

/// <summary>
/// The paged KV cache: sequences drawing blocks from one pool give the logits of private caches;
/// a later prompt attaches the cached blocks of its prefix; a shared block is copied before it is
/// written; running out is an exception that changes nothing; every block comes back.
/// </summary>
public sealed class KvPoolTests(Stories260KFixture fixture) : IClassFixture<Stories260KFixture>
{
    private LlamaModel Model => fixture.Model.Model;

    private int[] Prompt(int length, int seed)
    {
        var rng = new Random(seed);
        return [1, .. Enumerable.Range(0, length - 1).Select(_ => rng.Next(3, Model.VocabSize))];
    }

    private float[] Alone(ReadOnlySpan<int> tokens)
    {
        InferenceContext ctx = Model.CreateContext(256);
        Model.Forward(ctx, tokens);
        return (float[])ctx.Logits.Clone();
    }

    [Fact]
    public void A_prompt_attaches_the_cached_blocks_of_its_prefix_and_gets_the_same_logits()
    {
        var pool = new KvPool(Model.Config, 32, blockSize: 16);
        int[] shared = Prompt(70, 1);
        var a = new InferenceContext(Model.Config, Model.VocabSize, 256, 64, pool);
        Model.Forward(a, shared);
        Assert.Equal(Alone(shared), a.Logits);
        Assert.Equal(5, a.BlockCount);

        int[] longer = [.. shared, .. Prompt(30, 2)[1..]];
        var b = new InferenceContext(Model.Config, Model.VocabSize, 256, 64, pool);
        int attached = b.AttachCachedPrefix(longer);
        Assert.Equal(64, attached); // four full blocks of 16; a's fifth block is not full
        Assert.Equal(longer[..64], b.History);
        Model.Forward(b, longer.AsSpan(attached));
        Assert.Equal(Alone(longer), b.Logits);
        Assert.Equal((5L, 4L), pool.PrefixStats); // the fifth block was looked up and not found

        a.Reset();
        b.Reset();
        Assert.Equal(0, pool.BlocksInUse);
        Assert.Equal(32, pool.AvailableBlocks);

        // Blocks are still findable after their sequences ended (until evicted).
        var c = new InferenceContext(Model.Config, Model.VocabSize, 256, 64, pool);
        Assert.Equal(96, c.AttachCachedPrefix(longer)); // b published its own full blocks too
        c.Reset();
    }

    [Fact]
    public void A_shared_block_is_copied_before_it_is_written()
    {
        var pool = new KvPool(Model.Config, 16, blockSize: 16);
        int[] prompt = Prompt(40, 3);
        var a = new InferenceContext(Model.Config, Model.VocabSize, 128, 64, pool);
        Model.Forward(a, prompt);
        var b = new InferenceContext(Model.Config, Model.VocabSize, 128, 64, pool);
        Assert.Equal(32, b.AttachCachedPrefix(prompt));
        b.Truncate(20); // into the second block, which a still holds
        int[] other = [.. prompt[..20], .. Prompt(10, 4)[1..]];
        Model.Forward(b, other.AsSpan(20));
        Assert.Equal(Alone(other), b.Logits);

        // a's cache is untouched: its next token sees the same past as a private cache would.
        Model.Forward(a, [5]);
        Assert.Equal(Alone([.. prompt, 5]), a.Logits);
        a.Reset();
        b.Reset();
        Assert.Equal(0, pool.BlocksInUse);
    }

    [Fact]
    public void Running_out_of_blocks_throws_and_changes_nothing()
    {
        var pool = new KvPool(Model.Config, 3, blockSize: 16);
        var a = new InferenceContext(Model.Config, Model.VocabSize, 128, 64, pool);
        Model.Forward(a, Prompt(40, 5)); // three blocks
        var b = new InferenceContext(Model.Config, Model.VocabSize, 128, 64, pool);
        Assert.Throws<KvPoolExhaustedException>(() => Model.Forward(b, Prompt(5, 6)));
        Assert.Equal(0, b.Position);
        Assert.Equal(0, b.BlockCount);
        Assert.Equal(3, pool.BlocksInUse);
        a.Reset();
        Model.Forward(b, Prompt(5, 6));
        Assert.Equal(1, b.BlockCount);
    }

    [Fact]
    public void Running_out_of_blocks_in_a_batch_fails_before_any_sequence_advances()
    {
        var pool = new KvPool(Model.Config, 3, blockSize: 16);
        var a = new InferenceContext(Model.Config, Model.VocabSize, 128, 64, pool);
        var b = new InferenceContext(Model.Config, Model.VocabSize, 128, 64, pool);
        int[] first = Prompt(20, 3), second = Prompt(20, 4); // two blocks each; the pool has three
        int[] tokens = [.. first, .. second];
        SequenceChunk[] chunks = [new(a, 0, 20), new(b, 20, 20)];
        var workspace = new BatchWorkspace(Model, 64, 2);
        Assert.Throws<KvPoolExhaustedException>(() => Model.ForwardBatch(workspace, tokens, chunks));
        Assert.Equal(0, a.Position);
        Assert.Equal(0, b.Position);
        Assert.True(a.History.IsEmpty);
        Assert.True(b.History.IsEmpty);
        Assert.Equal(0, b.BlockCount);
        Model.Forward(a, first); // a's blocks were reserved, never written over: the same logits as alone
        Assert.Equal(Alone(first), a.Logits);
        Assert.Equal(first, a.History);
    }

    [Fact]
    public void Different_adapters_never_share_cached_blocks()
    {
        var pool = new KvPool(Model.Config, 16, blockSize: 16);
        int[] prompt = Prompt(40, 7);
        var a = new InferenceContext(Model.Config, Model.VocabSize, 128, 64, pool);
        Model.Forward(a, prompt);
        var layers = new LoraMatrix?[Model.Config.BlockCount][];
        for (int l = 0; l < layers.Length; l++)
        {
            layers[l] = new LoraMatrix?[7];
        }
        (int o, int i) = LoraAdapter.Shape(Model.Config, LoraTarget.Q);
        layers[0][0] = new LoraMatrix(1, i, o, new float[i], new float[o]);
        var b = new InferenceContext(Model.Config, Model.VocabSize, 128, 64, pool);
        b.SetAdapters([new ActiveAdapter(new LoraAdapter("x", "llama", 1, layers))]);
        Assert.Equal(0, b.AttachCachedPrefix(prompt));
    }
}
