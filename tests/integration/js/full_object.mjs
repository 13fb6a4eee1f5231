// FULL_OBJECT multipart checksums for test_sdk_js.py: CreateMultipartUpload with
// ChecksumType FULL_OBJECT and ChecksumAlgorithm CRC32 / CRC32C / CRC64NVME, parts
// sent with their own checksums, Complete with the whole object's checksum, then a
// GetObject with checksum mode (the SDK validates what the server returns).
// Input: {endpoint, accessKey, secretKey, bucket, file}.  Output: one JSON line.
import { readFileSync } from 'node:fs';
import {
    S3Client, CreateMultipartUploadCommand, UploadPartCommand,
    CompleteMultipartUploadCommand, GetObjectCommand, HeadObjectCommand,
} from '@aws-sdk/client-s3';

const cfg = JSON.parse(process.argv[2]);
const s3 = new S3Client({
    endpoint: cfg.endpoint, forcePathStyle: true, region: 'us-east-1',
    credentials: { accessKeyId: cfg.accessKey, secretAccessKey: cfg.secretKey },
});
const data = readFileSync(cfg.file);
const PART = 5 * 1024 * 1024;
const out = {};
for (const alg of ['CRC32', 'CRC32C', 'CRC64NVME']) {
    const Key = `full/${alg}.bin`;
    const up = await s3.send(new CreateMultipartUploadCommand({
        Bucket: cfg.bucket, Key, ChecksumAlgorithm: alg, ChecksumType: 'FULL_OBJECT' }));
    const parts = [];
    for (let i = 0, n = 1; i < data.length; i += PART, n++) {
        const r = await s3.send(new UploadPartCommand({
            Bucket: cfg.bucket, Key, UploadId: up.UploadId, PartNumber: n,
            Body: data.subarray(i, i + PART), ChecksumAlgorithm: alg }));
        parts.push({ PartNumber: n, ETag: r.ETag, [`Checksum${alg}`]: r[`Checksum${alg}`] });
    }
    const done = await s3.send(new CompleteMultipartUploadCommand({
        Bucket: cfg.bucket, Key, UploadId: up.UploadId, MultipartUpload: { Parts: parts } }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: cfg.bucket, Key, ChecksumMode: 'ENABLED' }));
    const get = await s3.send(new GetObjectCommand({ Bucket: cfg.bucket, Key, ChecksumMode: 'ENABLED' }));
    const body = Buffer.from(await get.Body.transformToByteArray());
    out[alg] = {
        complete: done[`Checksum${alg}`] || null,
        type: done.ChecksumType || null,
        head: head[`Checksum${alg}`] || null,
        same: body.equals(data),
    };
}
console.log(JSON.stringify(out));
