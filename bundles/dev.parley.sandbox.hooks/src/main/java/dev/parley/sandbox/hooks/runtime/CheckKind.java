package dev.parley.sandbox.hooks.runtime;

/** What a woven call site asks the sandbox before it runs. */
public enum CheckKind {
    /** {@code System.exit}, {@code Runtime.exit/halt/addShutdownHook}. */
    EXIT("exit"),
    /** {@code Runtime.exec}, {@code ProcessBuilder.start}, destroying another process. */
    PROCESS("process"),
    /** {@code System.getenv}; the target is the variable's name, or null for the whole map. */
    ENVIRONMENT("environment"),
    /** A connection or datagram; the target is a socket address, host and port, URL, URI or HTTP request. */
    NETWORK("network"),
    /** An HTTP client told to follow redirects (the JDK would follow them unchecked); the target is the policy. */
    REDIRECT("network"),
    /** Reading a file; the target is a String, File or Path. */
    FILE_READ("file"),
    /** Writing, creating or deleting a file. */
    FILE_WRITE("file"),
    /** Opening a file with options (read unless they ask to write); the detail is the options or the mode. */
    FILE_OPEN("file"),
    /** A temporary file in the default temporary directory. */
    TEMP_FILE("file"),
    /** {@code Thread.start}; the target is the receiver (a thread or not). */
    THREAD_START("thread"),
    /** An executor or virtual thread factory. */
    THREADS("thread"),
    /** {@code setAccessible}, {@code Method.invoke}, {@code Constructor.newInstance}, {@code Lookup.unreflect*}. */
    REFLECT("reflection"),
    /** {@code Lookup.find*}; the target is the class, the detail the member's name ({@code <init>}: a constructor). */
    LOOKUP("reflection"),
    /** {@code MethodHandles.privateLookupIn}; the target is the class. */
    PRIVATE_LOOKUP("reflection"),
    /** A method reference or method handle constant naming a checked JDK method; the target is its name. */
    METHOD_REFERENCE("reflection");

    private final String rule;

    CheckKind(String rule) {
        this.rule = rule;
    }

    /** The rule's name, as the admission scan names it ({@code network}, {@code file}, ...). */
    public String rule() {
        return rule;
    }
}
