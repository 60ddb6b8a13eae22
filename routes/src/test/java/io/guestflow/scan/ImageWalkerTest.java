package io.guestflow.scan;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.guestflow.config.GuestflowConfig;
import io.guestflow.engine.Engine;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageWalkerTest {
    private static final ObjectMapper JSON = Engine.json();
    /** What the job parser accepts as a jobId. */
    private static final String JOB_ID = "[A-Za-z0-9][A-Za-z0-9._:-]{0,127}";

    @TempDir
    Path root;

    private ScanConfig scan(String name, String... extra) {
        Map<String, String> p = new java.util.HashMap<>();
        p.put("guestflow.scan." + name + ".roots", root.toString());
        for (int i = 0; i < extra.length; i += 2) {
            p.put("guestflow.scan." + name + "." + extra[i], extra[i + 1]);
        }
        return GuestflowConfig.scan(name, p, Map.of());
    }

    private Path file(String rel, String content) throws Exception {
        Path f = root.resolve(rel);
        Files.createDirectories(f.getParent());
        Files.writeString(f, content);
        return f;
    }

    @Test
    void includeAndExcludeGlobs() throws Exception {
        file("a.qcow2", "a");
        file("sub/deeper/b.img", "b");
        file("notes.txt", "n");
        file("sub/c-tmp.qcow2", "c");
        file("golden/d.bin", "d");
        List<String> found = ImageWalker.walk(scan("s", "exclude", "*-tmp.qcow2"), "r").stream()
                .map(i -> root.relativize(Path.of(i.path())).toString()).toList();
        // names match at any depth; the default include has no .txt or .bin
        assertThat(found).containsExactly("a.qcow2", "sub/deeper/b.img");
        List<String> golden = ImageWalker.walk(scan("s", "include", "golden/**,*.txt"), "r").stream()
                .map(i -> root.relativize(Path.of(i.path())).toString()).toList();
        assertThat(golden).containsExactly("golden/d.bin", "notes.txt");
    }

    @Test
    void sameImageSameJobIdUntilItChanges() throws Exception {
        Path a = file("a.qcow2", "first");
        file("b.qcow2", "other");
        ScanConfig s = scan("nightly");
        List<ScanImage> one = ImageWalker.walk(s, "run1");
        List<ScanImage> two = ImageWalker.walk(s, "run2");
        assertThat(two).isEqualTo(one);
        assertThat(one).extracting(ScanImage::jobId).allMatch(id -> id.matches(JOB_ID)).doesNotHaveDuplicates()
                .allMatch(id -> id.startsWith("nightly-"));
        // another scan over the same image is another job
        assertThat(ImageWalker.walk(scan("weekly"), "run1").get(0).jobId()).isNotEqualTo(one.get(0).jobId());
        // touching the image (same content) changes its id; the other image keeps its own
        Files.setLastModifiedTime(a, FileTime.from(Instant.now().plusSeconds(5)));
        List<ScanImage> three = ImageWalker.walk(s, "run3");
        assertThat(three.get(0).jobId()).isNotEqualTo(one.get(0).jobId());
        assertThat(three.get(1).jobId()).isEqualTo(one.get(1).jobId());
    }

    @Test
    void notIncrementalMeansEveryRunIsNew() throws Exception {
        file("a.qcow2", "x");
        ScanConfig s = scan("full", "incremental", "false");
        assertThat(ImageWalker.walk(s, "run1").get(0).jobId()).isNotEqualTo(ImageWalker.walk(s, "run2").get(0).jobId());
        assertThat(ImageWalker.walk(s, "run1").get(0).jobId()).isEqualTo(ImageWalker.walk(s, "run1").get(0).jobId());
    }

    @Test
    void contentFingerprintIgnoresTouchButSeesWrites() throws Exception {
        Path a = file("a.qcow2", "content");
        ScanConfig s = scan("c", "fingerprint", "sha256");
        ScanImage before = ImageWalker.walk(s, "r").get(0);
        assertThat(before.fingerprint()).startsWith("sha256:");
        Files.setLastModifiedTime(a, FileTime.from(Instant.now().plusSeconds(60)));
        assertThat(ImageWalker.walk(s, "r").get(0).jobId()).isEqualTo(before.jobId());
        Files.writeString(a, "content2");
        assertThat(ImageWalker.walk(s, "r").get(0).jobId()).isNotEqualTo(before.jobId());
    }
}
