using System.Globalization;

using Microsoft.Data.Sqlite;

namespace Cria.Server.Audit;

/// <summary>The outcome of <see cref="AuditVerifier.Verify"/>: intact, or the first bad record and why.</summary>
public sealed record AuditVerification(long Records, long? BadRecordId, string? Problem, string? HeadHash, IReadOnlyList<string> Notes)
{
    public bool Intact => Problem is null;
}

/// <summary>
/// Walks the log in id order, in constant memory, and checks what the store keeps true: ids
/// contiguous, each record's hash over its fields, each <c>prev_hash</c> equal to its predecessor's hash,
/// checkpoint signatures, that the first record is record 1 or is vouched for by the newest
/// checkpoint (which names the last pruned record and its hash), and that the last record is the
/// signed head's. So a changed field, a deleted record (middle, start or end), an inserted or a
/// reordered one is found, and named: the first record where the log stops being the one written.
/// </summary>
public static class AuditVerifier
{
    /// <param name="key">The log's HMAC key; without it signatures are not checked (said in <see cref="AuditVerification.Notes"/>).</param>
    public static AuditVerification Verify(AuditStore store, byte[]? key)
    {
        ArgumentNullException.ThrowIfNull(store);
        var notes = new List<string>();
        if (key is null)
        {
            notes.Add("no audit key: checkpoint and head signatures were not checked (the hash chain was)");
        }
        long count = 0;
        long firstId = 0;
        string firstPrev = "";
        AuditRecord? last = null;
        AuditRecord? vouching = null; // the checkpoint that pruned the most
        try
        {
            using SqliteDataReader reader = store.ReadAll();
            while (reader.Read())
            {
                AuditRecord r;
                try
                {
                    r = AuditRows.Read(reader);
                }
                catch (InvalidDataException e)
                {
                    long? id = AuditRows.TryId(reader);
                    return Bad(count, id ?? (last?.Id + 1 ?? 1), $"unreadable: {e.Message}", notes);
                }
                count++;
                if (last is null)
                {
                    firstId = r.Id;
                    firstPrev = r.PrevHash;
                }
                else
                {
                    if (r.Id != last.Id + 1)
                    {
                        return Bad(count, last.Id + 1, Missing(last.Id + 1, r.Id - 1, $"the chain goes from record {Id(last.Id)} to record {Id(r.Id)}"), notes);
                    }
                    if (r.PrevHash != last.Hash)
                    {
                        return Bad(count, r.Id, $"its prev_hash does not match the hash of record {Id(last.Id)}: a record before it was replaced or inserted", notes);
                    }
                }
                if (AuditChain.Hash(r) != r.Hash)
                {
                    return Bad(count, r.Id, "its fields do not match its hash: the record was changed", notes);
                }
                if (r.Kind == AuditKinds.Checkpoint)
                {
                    if (r.PrunedThrough is not { } through || r.PrunedHash is null || r.Signature is null)
                    {
                        return Bad(count, r.Id, "a checkpoint without the pruned record's id, hash or signature", notes);
                    }
                    if (key is not null && !AuditChain.MacEquals(r.Signature, AuditChain.Sign(r, key)))
                    {
                        return Bad(count, r.Id, "the checkpoint's signature does not verify with the audit key: it was not written by this log's server", notes);
                    }
                    if (vouching is null || through > vouching.PrunedThrough)
                    {
                        vouching = r;
                    }
                }
                else if (r.Kind is not (AuditKinds.Request or AuditKinds.Gap))
                {
                    return Bad(count, r.Id, $"unknown record kind \"{r.Kind}\"", notes);
                }
                if (r.Kind == AuditKinds.Gap)
                {
                    notes.Add($"record {Id(r.Id)}: {r.Dropped?.ToString(CultureInfo.InvariantCulture) ?? "some"} records were dropped before it (queue full or a failed write)");
                }
                last = r;
            }
        }
        catch (SqliteException e)
        {
            throw new InvalidDataException($"{store.Path} cannot be read: {e.Message}", e);
        }
        if (last is not null)
        {
            if (firstId == 1)
            {
                if (firstPrev != AuditChain.Genesis)
                {
                    return Bad(count, 1, "record 1 does not start the chain (its prev_hash is not the genesis hash)", notes);
                }
            }
            else if (vouching is null)
            {
                return Bad(count, 1, Missing(1, firstId - 1, "no checkpoint says they were pruned"), notes);
            }
            else if (vouching.PrunedThrough != firstId - 1 || vouching.PrunedHash != firstPrev)
            {
                long from = vouching.PrunedThrough!.Value + 1;
                return from < firstId
                    ? Bad(count, from, Missing(from, firstId - 1, $"the checkpoint {Id(vouching.Id)} pruned only through record {Id(from - 1)}"), notes)
                    : Bad(count, firstId, $"the first record does not follow the records checkpoint {Id(vouching.Id)} says were pruned", notes);
            }
        }
        (long LastId, string LastHash, string Mac)? head = store.ReadHead();
        if (head is null)
        {
            return last is null ? new AuditVerification(0, null, null, null, notes) : Bad(count, last.Id, "the signed head is missing: the log was altered", notes);
        }
        (long headId, string headHash, string mac) = head.Value;
        if (key is not null && !AuditChain.MacEquals(mac, AuditChain.SignHead(headId, headHash, key)))
        {
            return Bad(count, headId, "the signed head does not verify with the audit key: the log was altered, or the key is not the one it was written with", notes);
        }
        long lastId = last?.Id ?? 0;
        if (lastId < headId)
        {
            return Bad(count, lastId + 1, Missing(lastId + 1, headId, $"the signed head names record {Id(headId)} as the last one written"), notes);
        }
        if (lastId > headId)
        {
            return Bad(count, headId + 1, $"written after the signed head (record {Id(headId)}): the record was inserted", notes);
        }
        if (last!.Hash != headHash)
        {
            return Bad(count, lastId, "its hash is not the one the signed head names: the record was rewritten", notes);
        }
        return new AuditVerification(count, null, null, headHash, notes);
    }

    private static string Missing(long from, long to, string why) => from == to
        ? $"missing ({why}): the record was deleted"
        : $"records {Id(from)}–{Id(to)} are missing ({why}): they were deleted";

    private static string Id(long id) => id.ToString(CultureInfo.InvariantCulture);

    private static AuditVerification Bad(long count, long id, string problem, List<string> notes) => new(count, id, problem, null, notes);
}
