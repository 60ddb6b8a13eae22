# guestflow engine image: Debian 12 with libguestfs (from Debian), a kernel
# for the appliance, qemu-utils and the engine jar built from this checkout.
FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      openjdk-17-jdk-headless maven libguestfs-java ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN (cd /tmp && mvn -q -B org.apache.maven.plugins:maven-install-plugin:3.1.3:install-file \
       -Dfile=/usr/share/java/libguestfs-1.48.6.jar -DgroupId=org.libguestfs \
       -DartifactId=libguestfs -Dversion=1.48.6 -Dpackaging=jar) \
    && mvn -q -B -DskipTests install

FROM debian:12
RUN apt-get update && apt-get install -y --no-install-recommends \
      openjdk-17-jre-headless libguestfs-tools libguestfs-java libguestfs-xfs linux-image-amd64 qemu-utils \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/routes/target/guestflow.jar /opt/guestflow/guestflow.jar
COPY config/application.properties /etc/guestflow/application.properties
# the appliance cache and the images live in volumes
ENV LIBGUESTFS_CACHEDIR=/var/cache/guestflow
VOLUME ["/images", "/output", "/var/cache/guestflow"]
ENTRYPOINT ["java", "-Djava.library.path=/usr/lib/x86_64-linux-gnu/jni", "-jar", "/opt/guestflow/guestflow.jar"]
CMD ["run", "--config", "/etc/guestflow/application.properties"]
