// The whole lifecycle of a bucket with @aws-sdk/client-s3 (and @aws-sdk/lib-storage for the
// multipart upload), for test_sdk_js.py: create, bucket tags, tagged objects with metadata,
// tagged multipart uploads (lib-storage Upload and the low-level commands), an aborted one,
// copies, list, tag and untag, delete one by one and in bulk, delete the bucket, create it
// again and check it is empty.  Input: one JSON argument {endpoint, accessKey, secretKey,
// bucket, file}.  Output: one JSON line with what the SDK saw; a failing step throws with
// its name.
import { createReadStream, readFileSync } from 'node:fs';
import {
    S3Client, CreateBucketCommand, DeleteBucketCommand, PutBucketTaggingCommand,
    GetBucketTaggingCommand, PutObjectCommand, HeadObjectCommand, CopyObjectCommand,
    ListObjectsV2Command, PutObjectTaggingCommand, GetObjectTaggingCommand,
    DeleteObjectTaggingCommand, DeleteObjectCommand, DeleteObjectsCommand,
    CreateMultipartUploadCommand, UploadPartCommand, CompleteMultipartUploadCommand,
    AbortMultipartUploadCommand, ListMultipartUploadsCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

const cfg = JSON.parse(process.argv[2]);
const s3 = new S3Client({
    endpoint: cfg.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: cfg.accessKey, secretAccessKey: cfg.secretKey },
});
const B = cfg.bucket;
const out = {};
const MiB = 1024 * 1024;

async function step(name, fn) {
    try {
        return await fn();
    } catch (e) {
        throw new Error(`step ${name}: ${e.name}: ${e.message}`);
    }
}
async function errorName(fn) {
    try {
        await fn();
        return 'none';
    } catch (e) {
        return e.name;
    }
}
const send = (cmd) => s3.send(cmd);
async function tagsOf(key) {
    const r = await send(new GetObjectTaggingCommand({ Bucket: B, Key: key }));
    return Object.fromEntries((r.TagSet ?? []).map((t) => [t.Key, t.Value]));
}
async function listKeys() {
    const r = await send(new ListObjectsV2Command({ Bucket: B }));
    return (r.Contents ?? []).map((o) => o.Key);
}
async function uploads() {
    const r = await send(new ListMultipartUploadsCommand({ Bucket: B }));
    return (r.Uploads ?? []).map((u) => u.Key);
}

async function writes() {
    await send(new CreateBucketCommand({ Bucket: B }));
    await send(new PutBucketTaggingCommand({
        Bucket: B, Tagging: { TagSet: [{ Key: 'team', Value: 'x' }] },
    }));
    await send(new PutObjectCommand({
        Bucket: B, Key: 'docs/a.txt', Body: Buffer.from('a'), Tagging: 'k=v&x=y',
        Metadata: { color: 'blue' },
    }));
    await send(new PutObjectCommand({ Bucket: B, Key: 'plain', Body: Buffer.from('p') }));
    const up = new Upload({
        client: s3, partSize: 5 * MiB,
        params: { Bucket: B, Key: 'big.bin', Body: createReadStream(cfg.file), Tagging: 'mp=1',
                  Metadata: { kind: 'mpu' } },
    });
    out.libStorage = (await up.done()).ETag;
}

async function lowLevelMultipart() {
    const data = readFileSync(cfg.file);
    const c = await send(new CreateMultipartUploadCommand({
        Bucket: B, Key: 'low.bin', Tagging: 'low=1',
    }));
    const parts = [];
    for (let n = 1, off = 0; off < data.length; n++, off += 5 * MiB) {
        const r = await send(new UploadPartCommand({
            Bucket: B, Key: 'low.bin', UploadId: c.UploadId, PartNumber: n,
            Body: data.subarray(off, off + 5 * MiB),
        }));
        parts.push({ PartNumber: n, ETag: r.ETag });
    }
    const done = await send(new CompleteMultipartUploadCommand({
        Bucket: B, Key: 'low.bin', UploadId: c.UploadId, MultipartUpload: { Parts: parts },
    }));
    out.lowLevel = done.ETag;
    const gone = await send(new CreateMultipartUploadCommand({
        Bucket: B, Key: 'gone.bin', Tagging: 'g=1',
    }));
    await send(new UploadPartCommand({
        Bucket: B, Key: 'gone.bin', UploadId: gone.UploadId, PartNumber: 1,
        Body: Buffer.from('g'),
    }));
    await send(new AbortMultipartUploadCommand({
        Bucket: B, Key: 'gone.bin', UploadId: gone.UploadId,
    }));
}

async function copies() {
    await send(new CopyObjectCommand({
        Bucket: B, Key: 'copy/a.txt', CopySource: `${B}/docs/a.txt`,
    }));
    await send(new CopyObjectCommand({
        Bucket: B, Key: 'copy/big.bin', CopySource: `${B}/big.bin`,
        TaggingDirective: 'REPLACE', Tagging: 'c=2',
    }));
    out.tags = {};
    for (const k of ['docs/a.txt', 'big.bin', 'low.bin', 'copy/a.txt', 'copy/big.bin']) {
        out.tags[k] = await tagsOf(k);
    }
    out.meta = {
        'big.bin': (await send(new HeadObjectCommand({ Bucket: B, Key: 'big.bin' }))).Metadata,
        'copy/a.txt': (await send(new HeadObjectCommand({ Bucket: B, Key: 'copy/a.txt' })))
            .Metadata,
    };
    out.keys = await listKeys();
    out.uploads = await uploads();
}

async function tagsAndDeletes() {
    await send(new PutObjectTaggingCommand({
        Bucket: B, Key: 'plain', Tagging: { TagSet: [{ Key: 't', Value: '1' }] },
    }));
    out.tagged = await tagsOf('plain');
    await send(new DeleteObjectTaggingCommand({ Bucket: B, Key: 'docs/a.txt' }));
    out.untagged = await tagsOf('docs/a.txt');
    const keys = out.keys;
    for (const k of keys.slice(0, 2)) {
        await send(new DeleteObjectCommand({ Bucket: B, Key: k }));
    }
    const r = await send(new DeleteObjectsCommand({
        Bucket: B, Delete: { Objects: keys.slice(2).map((k) => ({ Key: k })) },
    }));
    out.bulkDeleted = (r.Deleted ?? []).map((d) => d.Key).sort();
    out.bulkErrors = (r.Errors ?? []).map((e) => e.Key);
    out.afterDeletes = await listKeys();
}

async function again() {
    await send(new DeleteBucketCommand({ Bucket: B }));
    out.deletedBucketTags = await errorName(
        () => send(new GetBucketTaggingCommand({ Bucket: B })));
    await send(new CreateBucketCommand({ Bucket: B }));
    out.again = {
        keys: await listKeys(), uploads: await uploads(),
        bucketTags: await errorName(() => send(new GetBucketTaggingCommand({ Bucket: B }))),
        tags: {},
    };
    for (const k of out.keys) {
        await send(new PutObjectCommand({ Bucket: B, Key: k, Body: Buffer.from('again') }));
        out.again.tags[k] = await tagsOf(k);
    }
    await send(new DeleteObjectsCommand({
        Bucket: B, Delete: { Objects: out.keys.map((k) => ({ Key: k })) },
    }));
}

await step('writes', writes);
await step('low-level multipart', lowLevelMultipart);
await step('copies', copies);
await step('tags and deletes', tagsAndDeletes);
await step('delete and create again', again);
console.log(JSON.stringify(out));
