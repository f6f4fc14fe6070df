package io.havm.api;
public class Main { public static void main(String[] a){} }
