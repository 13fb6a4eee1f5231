// Large uploads for test_multipart.py: @aws-sdk/lib-storage Upload with the SDK's default
// checksums (CRC32 per part, composite at Complete), then minio-js putObject of a stream
// larger than its part size (ListMultipartUploads first, then multipart).  Input: one JSON
// argument {endpoint, accessKey, secretKey, bucket, file}.  Output: one JSON line.
import { createReadStream } from 'node:fs';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import * as Minio from 'minio';

const cfg = JSON.parse(process.argv[2]);
const out = {};

const s3 = new S3Client({
    endpoint: cfg.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: cfg.accessKey, secretAccessKey: cfg.secretKey },
});
const up = new Upload({
    client: s3,
    params: { Bucket: cfg.bucket, Key: 'sdk/lib-storage.bin', Body: createReadStream(cfg.file) },
});
const r = await up.done();
out.sdk = { etag: r.ETag, crc32: r.ChecksumCRC32 || null };

const url = new URL(cfg.endpoint);
const mc = new Minio.Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: false,
    accessKey: cfg.accessKey,
    secretKey: cfg.secretKey,
    region: 'us-east-1',
    partSize: 5 * 1024 * 1024,
});
const info = await mc.putObject(cfg.bucket, 'minio/large.bin', createReadStream(cfg.file));
out.minio = { etag: info.etag };
console.log(JSON.stringify(out));
