package local.winback.registry;

import io.apicurio.common.apps.config.DynamicConfigPropertyList;
import java.util.List;
import javax.enterprise.context.ApplicationScoped;
import javax.enterprise.inject.Produces;

/**
 * The bean the config-index extension's build step produces: that step is in a deployment jar Maven
 * Central does not serve, so an empty stand-in is installed for it and this bean takes its place
 * (no property of the registry is changeable at run time; none is needed here).
 */
@ApplicationScoped
public class BuildTimeBeans {
    @Produces
    @ApplicationScoped
    DynamicConfigPropertyList dynamicConfigProperties() {
        return new DynamicConfigPropertyList(List.of());
    }
}
