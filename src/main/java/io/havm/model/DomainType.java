package io.havm.model;

/** libvirt domain type: chosen per host by probe or by configuration, never assumed. */
public enum DomainType {
    /** Hardware virtualisation through /dev/kvm. */
    KVM("kvm"),
    /** QEMU's software emulator (TCG): slow but runs anywhere, e.g. nested hosts without usable KVM. */
    QEMU("qemu");

    public final String word;

    DomainType(String word) { this.word = word; }

    public static DomainType parse(String field, String value) {
        return Words.parse(DomainType.class, field, value, t -> t.word);
    }
}
