// @aws-sdk/client-s3 scenario for test_sdk_js.py. Input: one JSON argument
// {endpoint, accessKey, secretKey, bucket, streamFile}. Output: one JSON line with what the
// SDK saw. The client config is the SDK default apart from endpoint, forcePathStyle,
// credentials and region (so CRC32 checksums and aws-chunked stream uploads stay on).
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import {
    S3Client, PutObjectCommand, GetObjectCommand, ListObjectsV2Command,
    DeleteObjectsCommand, CopyObjectCommand, HeadObjectCommand,
} from '@aws-sdk/client-s3';

const cfg = JSON.parse(process.argv[2]);
const s3 = new S3Client({
    endpoint: cfg.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: cfg.accessKey, secretAccessKey: cfg.secretKey },
});
const B = cfg.bucket;
const md5 = (buf) => createHash('md5').update(buf).digest('hex');
const out = {};

async function bodyBytes(resp) {
    return Buffer.from(await resp.Body.transformToByteArray());
}

const buffer = Buffer.from('hello world\n');
let r = await s3.send(new PutObjectCommand({
    Bucket: B, Key: 'sdkv3/buffer body.txt', Body: buffer, ContentType: 'text/plain',
    Metadata: { color: 'blue' },
}));
out.bufferPut = { etag: r.ETag, crc32: r.ChecksumCRC32 };

r = await s3.send(new PutObjectCommand({
    Bucket: B, Key: 'sdkv3/stream body.bin', Body: createReadStream(cfg.streamFile),
}));
out.streamPut = { etag: r.ETag, crc32: r.ChecksumCRC32 };

r = await s3.send(new GetObjectCommand({
    Bucket: B, Key: 'sdkv3/buffer body.txt', ChecksumMode: 'ENABLED',
}));
let got = await bodyBytes(r);
out.bufferGet = {
    body: got.toString('utf8'), crc32: r.ChecksumCRC32, contentType: r.ContentType,
    metadata: r.Metadata, etag: r.ETag,
};
r = await s3.send(new GetObjectCommand({
    Bucket: B, Key: 'sdkv3/stream body.bin', ChecksumMode: 'ENABLED',
}));
got = await bodyBytes(r);
out.streamGet = { md5: md5(got), length: got.length, crc32: r.ChecksumCRC32,
                  contentEncoding: r.ContentEncoding ?? null };

const special = 'sdkv3/a+b=c d.txt';
await s3.send(new PutObjectCommand({ Bucket: B, Key: special, Body: Buffer.from('special') }));
const src = `${B}/${special.split('/').map(encodeURIComponent).join('/')}`;
r = await s3.send(new CopyObjectCommand({
    Bucket: B, Key: 'sdkv3/copy of a+b=c d.txt', CopySource: src,
}));
out.copy = { etag: r.CopyObjectResult?.ETag };
r = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'sdkv3/copy of a+b=c d.txt' }));
out.copyHead = { length: r.ContentLength };

r = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'sdkv3/' }));
out.list = { keys: (r.Contents ?? []).map((o) => o.Key), keyCount: r.KeyCount,
             truncated: r.IsTruncated };
r = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'sdkv3/', Delimiter: '/',
                                             MaxKeys: 2 }));
out.listPage = { keys: (r.Contents ?? []).map((o) => o.Key), truncated: r.IsTruncated,
                 token: r.NextContinuationToken ?? null };

r = await s3.send(new DeleteObjectsCommand({
    Bucket: B, Delete: { Objects: [{ Key: special }, { Key: 'sdkv3/missing' }] },
}));
out.deleted = (r.Deleted ?? []).map((d) => d.Key).sort();
out.deleteErrors = (r.Errors ?? []).map((e) => e.Key);

try {
    await s3.send(new GetObjectCommand({ Bucket: B, Key: special }));
    out.afterDelete = 'found';
} catch (e) {
    out.afterDelete = e.name;
}
console.log(JSON.stringify(out));
