// The whole lifecycle of a bucket with minio-js, for test_sdk_js.py: create, bucket tags,
// objects with metadata, tagged (setObjectTagging: minio-js's putObject has no tagging
// header, for single or multipart uploads), a multipart upload (a stream over partSize),
// copies (tags kept, tags replaced), list, tag and untag, delete one by one and in bulk
// (removeObjects: DeleteObjects), delete the bucket, create it again and check it is empty.
// Input: one JSON argument {host, port, accessKey, secretKey, bucket, file}.  Output: one
// JSON line; a failing step throws with its name.
import { createReadStream } from 'node:fs';
import http from 'node:http';
import * as Minio from 'minio';

const cfg = JSON.parse(process.argv[2]);
const mc = new Minio.Client({
    endPoint: cfg.host, port: cfg.port, useSSL: false, accessKey: cfg.accessKey,
    secretKey: cfg.secretKey, region: 'us-east-1', pathStyle: true,
    partSize: 5 * 1024 * 1024,
});
const B = cfg.bucket;
const out = {};

async function step(name, fn) {
    const t0 = Date.now();
    try {
        return await fn();
    } catch (e) {
        throw new Error(`step ${name}: ${e.code ?? e.name}: ${e.message}`);
    } finally {
        (out.ms ??= {})[name] = Date.now() - t0;
    }
}
async function errorCode(fn) {
    try {
        await fn();
        return 'none';
    } catch (e) {
        return e.code ?? e.name;
    }
}
function collect(stream) {
    return new Promise((resolve, reject) => {
        const items = [];
        stream.on('data', (o) => items.push(o));
        stream.on('error', reject);
        stream.on('end', () => resolve(items));
    });
}
const listKeys = async () => (await collect(mc.listObjectsV2(B, '', true))).map((o) => o.name);
const uploads = async () => (await collect(mc.listIncompleteUploads(B, '', true)))
    .map((u) => u.key);
async function tagsOf(key) {
    const tags = await mc.getObjectTagging(B, key);
    return Object.fromEntries(tags.map((t) => [t.Key, String(t.Value)]));
}

async function writes() {
    await mc.makeBucket(B, 'us-east-1');
    await mc.setBucketTagging(B, { team: 'x' });
    const a = Buffer.from('a');
    await mc.putObject(B, 'docs/a.txt', a, a.length, { 'X-Amz-Meta-Color': 'blue' });
    await mc.setObjectTagging(B, 'docs/a.txt', { k: 'v', x: 'y' });
    await mc.putObject(B, 'plain', Buffer.from('p'));
    const r = await mc.putObject(B, 'big.bin', createReadStream(cfg.file), { kind: 'mpu' });
    out.multipart = r.etag;
    await mc.setObjectTagging(B, 'big.bin', { mp: '1' });
}

async function copies() {
    await mc.copyObject(B, 'copy/a.txt', `/${B}/docs/a.txt`, new Minio.CopyConditions());
    await mc.copyObject(new Minio.CopySourceOptions({ Bucket: B, Object: 'big.bin' }),
                        new Minio.CopyDestinationOptions({
                            Bucket: B, Object: 'copy/big.bin', UserTags: { c: '2' },
                        }));
    out.tags = {};
    for (const k of ['docs/a.txt', 'big.bin', 'copy/a.txt', 'copy/big.bin']) {
        out.tags[k] = await tagsOf(k);
    }
    out.meta = {
        'big.bin': (await mc.statObject(B, 'big.bin')).metaData.kind ?? null,
        'copy/a.txt': (await mc.statObject(B, 'copy/a.txt')).metaData.color ?? null,
    };
    out.keys = await listKeys();
    out.uploads = await uploads();
}

async function tagsAndDeletes() {
    await mc.setObjectTagging(B, 'plain', { t: '1' });
    out.tagged = await tagsOf('plain');
    await mc.removeObjectTagging(B, 'docs/a.txt');
    out.untagged = await tagsOf('docs/a.txt');
    for (const k of out.keys.slice(0, 2)) {
        await mc.removeObject(B, k);
    }
    const r = await mc.removeObjects(B, out.keys.slice(2));
    out.bulkErrors = r.filter((e) => e.Code).map((e) => e.Key);
    out.afterDeletes = await listKeys();
}

async function again() {
    await mc.removeBucket(B);
    out.bucketGone = await mc.bucketExists(B);
    await mc.makeBucket(B, 'us-east-1');
    out.again = {
        keys: await listKeys(), uploads: await uploads(),
        bucketTags: await errorCode(() => mc.getBucketTagging(B)), tags: {},
    };
    for (const k of out.keys) {
        await mc.putObject(B, k, Buffer.from('again'));
        out.again.tags[k] = await tagsOf(k);
    }
    await mc.removeObjects(B, out.keys);
}

await step('writes', writes);
await step('copies', copies);
await step('tags and deletes', tagsAndDeletes);
await step('delete and create again', again);
console.log(JSON.stringify(out));
// minio-js has no close(), and a response it left unread holds a socket of the global agent
// until the server's idle timeout (a minute): end them, so that the process exits now.
http.globalAgent.destroy();
