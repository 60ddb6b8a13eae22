package io.guestflow.processors.resize;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.processors.resize.DiskLayout.Content;
import io.guestflow.processors.resize.DiskLayout.Part;
import io.guestflow.processors.resize.ResizePlan.Target;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The planner on layouts as the appliance reports them. The expected sector
 * numbers are what virt-resize 1.48 wrote for the same inputs (checked
 * against it by hand, and continuously by ResizeDifferentialTest).
 */
class ResizePlannerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MIB = 1024 * 1024;

    /** guestfish -N bootroot:ext4:ext4:128M:32M — partitions at sector 64, as virt-resize saw it. */
    private static DiskLayout bootroot() {
        return new DiskLayout("msdos", 512, 128 * MIB, null, List.of(
                new Part("/dev/sda1", 1, 32768, 33587199, 33554432, false, 0x83, null, null, null, null,
                        Content.filesystem("ext4", 26464256)),
                new Part("/dev/sda2", 2, 33587200, 134185471, 100598272, false, 0x83, null, null, null, null,
                        Content.filesystem("ext4", 88501248))), List.of());
    }

    private static ResizeOptions options(String json) throws Exception {
        return ResizeOptions.parse((ObjectNode) JSON.readTree(json));
    }

    private static ResizePlan plan(DiskLayout d, String json, long outSize) throws Exception {
        return new ResizePlanner(d, options(json), outSize, Set.of()).plan();
    }

    @Test
    void expandKeepsTheFirstStartAndGivesTheSurplusToThePartition() throws Exception {
        ResizePlan p = plan(bootroot(), "{\"expand\":\"/dev/sda2\"}", 192 * MIB);
        Target t1 = p.target().get(0);
        Target t2 = p.target().get(1);
        assertThat(t1.startSector()).isEqualTo(64);
        assertThat(t1.endSector()).isEqualTo(65599); // copied: exact size
        assertThat(t2.startSector()).isEqualTo(65664); // next 128-sector boundary
        assertThat(t2.endSector()).isEqualTo(388863); // resized: up to a boundary
        assertThat(t2.size()).isEqualTo(165478400); // virt-resize's size for this disk
        assertThat(t2.expandMethod()).isEqualTo(ResizePlan.ExpandMethod.RESIZE2FS);
        // virt-resize's name for it in the plan's JSON
        assertThat(new ObjectMapper().valueToTree(p).path("target").get(1).path("expandMethod").asText())
                .isEqualTo("resize2fs");
        assertThat(p.surplus()).isZero();
        assertThat(p.target()).hasSize(2);
    }

    @Test
    void alignFirstAlwaysMovesTheFirstPartitionToTheBoundary() throws Exception {
        ResizePlan p = plan(bootroot(), "{\"expand\":\"sda2\",\"alignFirst\":\"always\"}", 192 * MIB);
        assertThat(p.alignedFirst()).isTrue();
        assertThat(p.target().get(0).startSector()).isEqualTo(128);
    }

    @Test
    void aSurplusWithoutExpandBecomesAnExtraPartitionUnlessSwitchedOff() throws Exception {
        ResizePlan p = plan(bootroot(), "{\"resize\":[\"/dev/sda2=+10%\"]}", 192 * MIB);
        assertThat(p.target()).hasSize(3);
        Target extra = p.target().get(2);
        assertThat(extra.operation()).isEqualTo(ResizePlan.Operation.EXTRA);
        assertThat(extra.endSector()).isEqualTo(192 * MIB / 512 - 64);
        assertThat(p.target().get(1).size()).isGreaterThanOrEqualTo(100598272L * 11 / 10);
        assertThat(plan(bootroot(), "{\"resize\":[\"/dev/sda2=+10%\"],\"noExtraPartition\":true}", 192 * MIB).target())
                .hasSize(2);
    }

    @Test
    void deleteAndIgnore() throws Exception {
        // the freed 32 MiB become the extra partition unless that is switched off
        assertThat(plan(bootroot(), "{\"delete\":\"/dev/sda1\"}", 128 * MIB).target()).extracting(Target::operation)
                .containsExactly(ResizePlan.Operation.COPY, ResizePlan.Operation.EXTRA);
        ResizePlan p = plan(bootroot(), "{\"delete\":\"/dev/sda1\",\"noExtraPartition\":true}", 128 * MIB);
        assertThat(p.deleted()).containsExactly("/dev/sda1");
        assertThat(p.target()).singleElement().satisfies(t -> {
            assertThat(t.number()).isEqualTo(1);
            assertThat(t.source()).isEqualTo("/dev/sda2");
            assertThat(t.startSector()).isEqualTo(64);
        });
        ResizePlan q = plan(bootroot(), "{\"ignore\":\"/dev/sda1\",\"noExtraPartition\":true}", 192 * MIB);
        assertThat(q.target().get(0).operation()).isEqualTo(ResizePlan.Operation.IGNORE);
        assertThat(q.target().get(0).copyBytes()).isZero();
    }

    /**
     * The LUKS fixture of the tests as resize sees it without keys: /boot, a LUKS partition (LVM on LUKS) whose
     * content is unknown, and the PV of datavg whose LV secret is a LUKS container (LUKS on LVM).
     */
    private static DiskLayout encrypted() {
        return new DiskLayout("msdos", 512, 512 * MIB, null, List.of(
                new Part("/dev/sda1", 1, 1048576, 67108863, 66060288, true, 0x83, null, null, null, null,
                        Content.filesystem("ext4", 56398848)),
                new Part("/dev/sda2", 2, 67108864, 314572799, 247463936, false, 0x83, null, null, null, null,
                        Content.UNKNOWN),
                new Part("/dev/sda3", 3, 314572800, 535822847, 221250048, false, 0x8e, null, null, null, null,
                        Content.physicalVolume(220200960))),
                List.of(new DiskLayout.LogicalVolume("/dev/datavg/secret", Content.UNKNOWN)));
    }

    @Test
    void anEncryptedGuestWithoutKeysIsPlannedAsVirtResizePlansIt() throws Exception {
        // virt-resize 1.48 --expand /dev/sda2 --resize /dev/sda3=+64M --lv-expand /dev/datavg/secret, +256M
        // (golden oracles/virt-resize-luks/luks-expand.json, compared end to end by LuksTest)
        ResizePlan p = plan(encrypted(), "{\"expand\":\"/dev/sda2\",\"resize\":[\"/dev/sda3=+64M\"],"
                + "\"lvExpand\":[\"/dev/datavg/secret\"]}", 768 * MIB);
        assertThat(p.target()).extracting(t -> t.number() + ":" + t.operation() + ":" + t.startSector() + "-"
                + t.endSector() + ":" + t.expandMethod())
                .containsExactly("1:COPY:2048-131071:null", "2:RESIZE:131072-1007103:null",
                        "3:RESIZE:1007104-1570431:PVRESIZE");
        // the container is copied, not grown inside; the LV that is a container has nothing to grow it with
        assertThat(p.lvExpansions()).singleElement().satisfies(lv -> {
            assertThat(lv.device()).isEqualTo("/dev/datavg/secret");
            assertThat(lv.expandMethod()).isNull();
        });
        // refused as virt-resize refuses: shrinking unknown content, an LV hidden inside a closed container
        assertThatThrownBy(() -> plan(encrypted(), "{\"resize\":[\"/dev/sda2=-10M\"]}", 512 * MIB))
                .hasMessageContaining("/dev/sda2: has unknown content which might be damaged by shrinking it");
        assertThatThrownBy(() -> plan(encrypted(), "{\"expand\":\"/dev/sda2\",\"lvExpand\":\"/dev/cryptvg/root\"}",
                768 * MIB)).hasMessageContaining("/dev/cryptvg/root: logical volume not found in the source disk");
    }

    @Test
    void impossiblePlansAreRefusedWithTheReason() {
        assertThatThrownBy(() -> plan(bootroot(), "{\"expand\":\"/dev/sda2\"}", 128 * MIB))
                .isInstanceOf(ResizePlanner.ImpossiblePlanException.class).hasMessageContaining("larger by at least");
        assertThatThrownBy(() -> plan(bootroot(), "{}", 100 * MIB))
                .hasMessageContaining("too small").hasMessageContaining("deficit");
        assertThatThrownBy(() -> plan(bootroot(), "{\"resize\":[\"/dev/sda2=-50M\"]}", 128 * MIB))
                .hasMessageContaining("/dev/sda2").hasMessageContaining("ext4 filesystem of 88501248 bytes");
        assertThatThrownBy(() -> plan(bootroot(), "{\"expand\":\"/dev/sda7\"}", 192 * MIB))
                .hasMessageContaining("/dev/sda7: partition not found");
        assertThatThrownBy(() -> plan(bootroot(), "{\"delete\":\"/dev/sda2\",\"expand\":\"/dev/sda2\"}", 192 * MIB))
                .hasMessageContaining("already deleted");
        assertThatThrownBy(() -> plan(bootroot(), "{\"lvExpand\":\"/dev/vg/root\"}", 192 * MIB))
                .hasMessageContaining("logical volume not found");
        assertThatThrownBy(() -> plan(bootroot(), "{\"shrink\":\"/dev/sda2\"}", 192 * MIB))
                .hasMessageContaining("needs a deficit");
    }

    @Test
    void aFilesystemThatCannotGrowIsRefusedUnlessContentExpansionIsOff() throws Exception {
        DiskLayout fat = new DiskLayout("gpt", 512, 64 * MIB, "D1", List.of(
                new Part("/dev/sda1", 1, MIB, 63 * MIB - 1, 62 * MIB, false, null, "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7",
                        "G1", 0L, "data", Content.filesystem("vfat", 60 * MIB))), List.of());
        assertThatThrownBy(() -> plan(fat, "{\"expand\":\"/dev/sda1\"}", 128 * MIB))
                .hasMessageContaining("cannot grow a vfat filesystem");
        ResizePlan p = plan(fat, "{\"expand\":\"/dev/sda1\",\"noExpandContent\":true}", 128 * MIB);
        assertThat(p.target().get(0).expandMethod()).isNull();
        assertThat(p.target().get(0).gptGuid()).isEqualTo("G1");
        // xfs grows only where the appliance has its tools
        DiskLayout xfs = new DiskLayout("msdos", 512, 512 * MIB, null, List.of(
                new Part("/dev/sda1", 1, MIB, 511 * MIB - 1, 510 * MIB, false, 0x83, null, null, null, null,
                        Content.filesystem("xfs", 500 * MIB))), List.of());
        assertThatThrownBy(() -> plan(xfs, "{\"expand\":\"/dev/sda1\"}", 600 * MIB)).hasMessageContaining("xfs");
        assertThat(new ResizePlanner(xfs, options("{\"expand\":\"/dev/sda1\"}"), 600 * MIB, Set.of("xfs")).plan()
                .target().get(0).expandMethod()).isEqualTo(ResizePlan.ExpandMethod.XFS_GROWFS);
    }

    @Test
    void sizeFieldsFollowVirtResize() {
        assertThat(Sizes.resize(1000, "+10%")).isEqualTo(1100);
        assertThat(Sizes.resize(1000, "-10%")).isEqualTo(900);
        assertThat(Sizes.resize(1000, "50%")).isEqualTo(500);
        assertThat(Sizes.resize(MIB, "+1M")).isEqualTo(2 * MIB);
        assertThat(Sizes.resize(0, "1.5G")).isEqualTo(1536 * MIB);
        assertThat(Sizes.resize(0, "4096")).isEqualTo(4096);
        assertThatThrownBy(() -> Sizes.resize(0, "10 apples")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void badOptionsAreRejectedBeforeAnyLaunch() {
        assertThatThrownBy(() -> options("{\"expand\":\"/dev/sda2\",\"shrink\":\"/dev/sda1\"}"))
                .hasMessageContaining("cannot be used together");
        assertThatThrownBy(() -> options("{\"resize\":[\"/dev/sda2\"]}")).hasMessageContaining("PART=SIZE");
        assertThatThrownBy(() -> options("{\"size\":\"big\"}")).hasMessageContaining("'size'");
        assertThatThrownBy(() -> options("{\"alignFirst\":\"sometimes\"}")).hasMessageContaining("auto, never or always");
        assertThatThrownBy(() -> options("{\"grow\":true}")).hasMessageContaining("no option 'grow'");
        assertThatThrownBy(() -> options("{\"dryRun\":\"yes\"}")).hasMessageContaining("true or false");
    }
}
